// IndexTTS-Swift WebUI: plain JavaScript over the server's own API (no build step, no CDN).
"use strict";

const $ = (id) => document.getElementById(id);
const EMOTIONS = [
  ["happy", "喜 happy"], ["angry", "怒 angry"], ["sad", "哀 sad"], ["afraid", "惧 afraid"],
  ["disgusted", "厌恶 disgusted"], ["melancholic", "低落 melancholic"], ["surprised", "惊喜 surprised"], ["calm", "平静 calm"],
];
const I18N = {
  zh: {
    apiKey: "API 密钥（如需要）", textTitle: "文本", textPlaceholder: "输入要合成的文字，支持中文标点……", characters: "字符",
    segments: "段", segmentPreview: "分句预览", voiceTitle: "音色", voice: "音色", uploadReference: "上传参考音频 (WAV/MP3)",
    record: "录音", stopRecording: "停止录音", recording: "录音中……", recorded: "已录制参考音频", voiceName: "新音色名称",
    saveVoice: "保存为音色", deleteVoice: "删除所选音色", emotionTitle: "情感", preset: "预设", presetNone: "（不使用预设）",
    modeSame: "与音色参考相同", modeAudio: "情感参考音频", modeVector: "情感向量", modeText: "情感描述文本",
    emotionTextPlaceholder: "例如：温柔地、带点开心", emotionWeight: "情感权重", speed: "语速", advanced: "高级参数",
    advancedNote: "采样参数仅对 IndexTTS2 引擎生效；留空即使用上游默认值。", generate: "生成语音", download: "下载", history: "最近任务",
    queued: "排队中……", running: "合成中", done: "完成", failed: "失败", cancelled: "已取消", noText: "请先输入文本。",
    uploadedVoice: "上传的参考音频", saved: "已保存音色", deleted: "已删除音色", needName: "请填写音色名称，并上传或录制参考音频。",
    builtIn: "内置", library: "音色库", play: "播放", cannotDelete: "只能删除音色库中的音色。",
    useRandom: "随机采样情感 (use_random)", cloneNote: "IndexTTS2 克隆参考音频的音色：请选择音色库中的音色，或上传/录制参考音频。",
    needClip: "IndexTTS2 需要参考音频：请选择音色库中的音色，或上传/录制参考音频。", speaking: "发音引擎",
    readingsLabel: "数字与符号读法", readingsCorrected: "修正读法 (corrected)", readingsUpstream: "与 IndexTTS2 完全一致 (upstream)",
    spanWritten: "原文", spanReading: "读作", spanRule: "规则", override: "改读", overridePrompt: "读音（汉字或带声调数字的拼音，如 hang2）：",
    overrideHint: "改读法：在文本中写 <原文|读音>，如 <2305|二三零五> 或 <行|hang2>，或点击“改读”。",
    emotionTextNote: "留空则由要合成的文本本身推断情感（IndexTTS2 的 QwenEmotion）。",
    streamPlay: "边生成边播放（流式）", stop: "停止", stopped: "已停止", streaming: "流式播放中",
    firstAudio: "首段音频用时", received: "已收到音频", streamedDone: "流式完成", stalls: "次断流",
    streamWindows: "IndexTTS2 按窗口流式（每窗 100 个语义码，约 2 秒语音），窗口间交叉淡化；比整段合成耗费更多算力，音频与整段合成略有不同。",
    streamSegments: "此引擎按句流式：每句合成完毕即播放。", streamWav: "流式音频以 WAV 提供下载（不使用所选格式）。",
    noStreaming: "此浏览器不支持流式播放，改为整段生成。",
    streamWindows25: "IndexTTS-2.5 按窗口流式（每窗 100 个语义码，约 4 秒语音；每窗还需等待其后若干语义码作为编解码上下文，正式模型为 40 个），窗口间交叉淡化；比整段合成耗费更多算力，音频与整段合成略有不同。",
    speechLanguage: "语言", speechLanguageAuto: "自动（按文字判断）",
  },
  en: {
    apiKey: "API key (if required)", textTitle: "Text", textPlaceholder: "Type the text to speak; Chinese punctuation is fine…",
    characters: "characters", segments: "segments", segmentPreview: "Segment preview", voiceTitle: "Voice", voice: "Voice",
    uploadReference: "Upload a reference clip (WAV/MP3)", record: "Record", stopRecording: "Stop recording",
    recording: "Recording…", recorded: "Reference recorded", voiceName: "New voice name", saveVoice: "Save as voice",
    deleteVoice: "Delete selected voice", emotionTitle: "Emotion", preset: "Preset", presetNone: "(no preset)",
    modeSame: "Same as the voice reference", modeAudio: "Emotion reference clip", modeVector: "Emotion vector",
    modeText: "Emotion described in text", emotionTextPlaceholder: "e.g. gentle, a little happy", emotionWeight: "Emotion weight",
    speed: "Speed", advanced: "Advanced",
    advancedNote: "Sampling settings apply to the IndexTTS2 engine only; empty fields take upstream's defaults.",
    generate: "Generate speech", download: "Download", history: "Recent jobs", queued: "Queued…", running: "Synthesising",
    done: "Done", failed: "Failed", cancelled: "Cancelled", noText: "Enter some text first.", uploadedVoice: "Uploaded reference",
    saved: "Saved voice", deleted: "Deleted voice", needName: "Give a name and upload or record a reference clip.",
    builtIn: "built-in", library: "library", play: "Play", cannotDelete: "Only library voices can be deleted.",
    useRandom: "Random emotion rows (use_random)",
    cloneNote: "IndexTTS2 clones the timbre of a reference: choose a library voice, or upload or record a clip.",
    needClip: "IndexTTS2 needs a voice reference: choose a library voice, or upload or record a clip.", speaking: "Engine",
    readingsLabel: "Numbers and symbols", readingsCorrected: "Corrected readings (corrected)",
    readingsUpstream: "Exactly as IndexTTS2 (upstream)", spanWritten: "Written", spanReading: "Read as", spanRule: "Rule",
    override: "Change", overridePrompt: "Reading (Chinese characters, words, or tone-numbered pinyin such as hang2):",
    overrideHint: "To change a reading write <text|reading> in the text, e.g. <2305|二三零五> or <行|hang2>, or press Change.",
    emotionTextNote: "Leave empty to infer the emotion from the text being spoken (IndexTTS2's QwenEmotion).",
    streamPlay: "Play while generating (streaming)", stop: "Stop", stopped: "Stopped", streaming: "Streaming",
    firstAudio: "first audio after", received: "received", streamedDone: "Streamed", stalls: "stalls",
    streamWindows: "IndexTTS2 streams windows of 100 codes (about 2 s of speech) joined by cross-fades; windows cost more compute than one whole synthesis, and the audio differs slightly from it.",
    streamSegments: "This engine streams sentence by sentence: each sentence plays as soon as it is synthesised.",
    streamWav: "Streamed audio is offered as WAV (the format choice applies to whole-file generation).",
    noStreaming: "This browser cannot play a stream; generating the whole file instead.",
    streamWindows25: "IndexTTS-2.5 streams windows of 100 codes (about 4 s of speech; each also waits for the codes after it that its codec reads as context, 40 with the released model) joined by cross-fades; windows cost more compute than one whole synthesis, and the audio differs slightly from it.",
    speechLanguage: "Language", speechLanguageAuto: "Automatic (from the text)",
  },
};

let lang = localStorage.getItem("indextts-lang") || (navigator.language.startsWith("zh") ? "zh" : "en");
let recorded = null;        // Blob from the microphone
let engine = null;
let selection = null;        // which engine speaks and why (/healthz engine_selection)
// IndexTTS2's generation settings: form field → input id (empty inputs are not sent: upstream's defaults apply).
const SAMPLING_FIELDS = {
  do_sample: "do-sample", temperature: "temperature", top_p: "top-p", top_k: "top-k", num_beams: "num-beams",
  repetition_penalty: "repetition-penalty", length_penalty: "length-penalty", max_mel_tokens: "max-mel-tokens",
  diffusion_steps: "diffusion-steps", inference_cfg_rate: "inference-cfg-rate",
  max_text_tokens_per_segment: "max-text-tokens-per-segment", interval_silence: "interval-silence",
};
const isIndexTTS2 = () => !!engine && engine.id === "indextts2";
// Engines that read a language (`lang`: IndexTTS-2.5) list the ones a picker offers.
const speechLanguages = () => (engine && engine.languages) || [];
const LANGUAGE_NAMES = { zh: "中文", en: "English", ja: "日本語", ar: "العربية", es: "Español" };
const t = (key) => (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key;

function applyLanguage() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  $("lang-toggle").textContent = lang === "zh" ? "English" : "中文";
  showEngine();
  updateCount();
}

function headers(extra = {}) {
  const key = $("api-key").value.trim();
  return key ? { ...extra, Authorization: "Bearer " + key } : extra;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = "small" + (isError ? " error" : "");
}

// --- text: live count and segment preview
let previewTimer = null;
function updateCount() {
  const text = $("text").value;
  $("char-count").textContent = [...text].length;
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, 400);
}

// The preview shows the text as it will be read, every span a reading rule read (and which rule), and the user's
// overrides (<text|reading> annotations, glossary terms); "Change" writes an annotation into the text.
async function preview() {
  const text = $("text").value.trim();
  const list = $("segments");
  if (!text) { list.innerHTML = ""; $("segment-count").textContent = ""; $("normalized").textContent = ""; showSpans([]); return; }
  try {
    const body = await (await api("/v1/text/preview", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text, readings: $("readings").value, ...speechLanguageField() }),
    })).json();
    $("normalized").textContent = body.normalized;
    showSpans([...(body.overrides || []), ...(body.spans || [])]);
    list.innerHTML = "";
    for (const segment of body.segments) {
      const li = document.createElement("li");
      li.textContent = segment.text + (segment.pinyin && segment.pinyin.length ? "  [" + segment.pinyin.join(" ") + "]" : "");
      list.appendChild(li);
    }
    $("segment-count").textContent = body.segments.length + " " + t("segments");
  } catch (e) {
    $("segment-count").textContent = e.message;
  }
}

function showSpans(spans) {
  const table = $("reading-spans");
  const rows = table.querySelector("tbody");
  rows.innerHTML = "";
  for (const span of spans) {
    const tr = document.createElement("tr");
    if (span.rule.startsWith("user.")) tr.className = "override";
    for (const value of [span.original, span.reading, span.rule]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    if (span.rule !== "user.glossary") {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = t("override");
      button.addEventListener("click", () => overrideSpan(span));
      td.appendChild(button);
    }
    tr.appendChild(td);
    rows.appendChild(tr);
  }
  table.hidden = spans.length === 0;
}

// Writes (or rewrites) the annotation <original|reading> for a span's first occurrence in the text.
function overrideSpan(span) {
  const reading = window.prompt(t("overridePrompt"), span.reading);
  if (reading === null || !reading.trim()) return;
  const area = $("text");
  const annotation = "<" + span.original + "|" + reading.trim() + ">";
  if (span.rule === "user.annotation") {
    area.value = area.value.replace("<" + span.original + "|" + span.reading + ">", annotation);
  } else {
    // The first occurrence that is not already inside an annotation.
    const pattern = new RegExp("<[^|>\\n]+\\|[^>\\n]+>|" + span.original.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "g");
    let done = false;
    area.value = area.value.replace(pattern, (match) => {
      if (done || match.startsWith("<") && match !== span.original) return match;
      done = true;
      return annotation;
    });
  }
  updateCount();
}

// --- engine, voices, presets
async function loadEngine() {
  try {
    const health = await (await fetch("/healthz")).json();
    engine = health.engine;
    selection = health.engine_selection || null;
    showEngine();
    $("licence").textContent = engine.licence;
    const preset = $("preset");
    for (const p of engine.presets || []) {
      const option = document.createElement("option");
      option.value = p.id;
      option.textContent = p.label + " · " + p.id;
      option.title = p.summary;
      preset.appendChild(option);
    }
  } catch (e) {
    setStatus(e.message, true);
  }
}

// Which engine speaks (name, id, why) and the controls that fit it: IndexTTS2's emotion modes, use_random and
// generation settings; the default voice's presets.
function showEngine() {
  if (!engine) return;
  $("engine-name").textContent = engine.name + " (" + engine.id + ")";
  $("engine-reason").textContent = selection && selection.reason ? t("speaking") + ": " + selection.reason : "";
  const indextts2 = isIndexTTS2();
  $("sampling-fields").hidden = !indextts2;
  $("use-random-row").hidden = !indextts2;
  $("clone-note").hidden = !indextts2;
  const languages = speechLanguages(), picker = $("speech-lang");
  $("speech-lang-row").hidden = languages.length === 0;
  if (picker.options.length === 1) {
    for (const code of languages) {
      const option = document.createElement("option");
      option.value = code;
      option.textContent = (LANGUAGE_NAMES[code] || code) + " (" + code + ")";
      picker.appendChild(option);
    }
  }
  if (!stream) $("stream-status").textContent = streamingOn() ? streamNote() : "";
}

async function loadVoices(select) {
  try {
    const list = await (await api("/v1/voices")).json();
    const voice = $("voice");
    voice.innerHTML = "";
    for (const v of list.data.filter((v) => v.type !== "alias")) {
      const option = document.createElement("option");
      option.value = v.name;
      option.dataset.type = v.type;
      option.textContent = v.name + " (" + t(v.type === "library" ? "library" : "builtIn") + ")";
      voice.appendChild(option);
    }
    if (select) voice.value = select;
  } catch (e) {
    $("voice-message").textContent = e.message;
  }
}

function referenceClip() {
  const file = $("ref-file").files[0];
  if (file) return [file, file.name];
  if (recorded) return [recorded, "recording.webm"];
  return null;
}

async function saveVoice() {
  const name = $("voice-name").value.trim();
  const clip = referenceClip();
  if (!name || !clip) { $("voice-message").textContent = t("needName"); return; }
  const form = new FormData();
  form.append("name", name);
  form.append("audio", clip[0], clip[1]);
  try {
    await api("/v1/voices", { method: "POST", body: form });
    $("voice-message").textContent = t("saved") + ": " + name;
    $("ref-file").value = "";
    recorded = null;
    await loadVoices(name);
  } catch (e) {
    $("voice-message").textContent = e.message;
  }
}

async function deleteVoice() {
  const option = $("voice").selectedOptions[0];
  if (!option || option.dataset.type !== "library") { $("voice-message").textContent = t("cannotDelete"); return; }
  try {
    await api("/v1/voices/" + encodeURIComponent(option.value), { method: "DELETE" });
    $("voice-message").textContent = t("deleted") + ": " + option.value;
    await loadVoices();
  } catch (e) {
    $("voice-message").textContent = e.message;
  }
}

let recorder = null;
async function toggleRecording() {
  if (recorder && recorder.state === "recording") { recorder.stop(); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (e) => chunks.push(e.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      recorded = new Blob(chunks, { type: recorder.mimeType });
      $("ref-player").src = URL.createObjectURL(recorded);
      $("ref-player").hidden = false;
      $("record").textContent = t("record");
      $("record-status").textContent = t("recorded");
    };
    recorder.start();
    $("record").textContent = t("stopRecording");
    $("record-status").textContent = t("recording");
  } catch (e) {
    $("record-status").textContent = e.message;
  }
}

// --- emotion controls
function buildSliders() {
  const panel = $("emo-vector-panel");
  for (const [id, label] of EMOTIONS) {
    const row = document.createElement("label");
    row.className = "slider small";
    row.innerHTML = `<span>${label}</span><input type="range" min="0" max="1" step="0.05" value="0" data-emotion="${id}"><output>0</output>`;
    const input = row.querySelector("input");
    input.addEventListener("input", () => { row.querySelector("output").textContent = input.value; });
    panel.appendChild(row);
  }
}

function emotionMode() { return document.querySelector("input[name=emo-mode]:checked").value; }

function showModePanels() {
  const mode = emotionMode();
  const usingPreset = $("preset").value !== "";
  $("emotion-modes").disabled = usingPreset;
  $("emo-audio-panel").hidden = usingPreset || mode !== "audio";
  $("emo-vector-panel").hidden = usingPreset || mode !== "vector";
  $("emo-text-panel").hidden = usingPreset || mode !== "text";
}

// --- generate: submit a job, follow its progress, play and offer the download
function buildForm() {
  const form = new FormData();
  form.append("text", $("text").value);
  const clip = referenceClip();
  if (clip) form.append("spk_audio_prompt", clip[0], clip[1]); else if ($("voice").value) form.append("voice", $("voice").value);
  form.append("speed", $("speed").value);
  form.append("format", $("format").value);
  const alpha = $("emo-alpha").value;
  if ($("preset").value) {
    form.append("emotion", $("preset").value);
    form.append("emo_alpha", alpha);
  } else {
    const mode = emotionMode();
    if (mode === "audio" && $("emo-file").files[0]) {
      form.append("emo_audio_prompt", $("emo-file").files[0], $("emo-file").files[0].name);
      form.append("emo_alpha", alpha);
    } else if (mode === "vector") {
      const values = [...document.querySelectorAll("[data-emotion]")].map((el) => el.value);
      if (values.some((v) => Number(v) > 0)) {
        form.append("emo_vector", values.join(","));
        form.append("emo_alpha", alpha);
        if (isIndexTTS2() && $("use-random").checked) form.append("use_random", "true");
      }
    } else if (mode === "text") {
      // An empty description means the text being spoken (upstream's use_emo_text without emo_text).
      form.append("emo_text", $("emo-text").value.trim() || $("text").value.trim());
      form.append("emo_alpha", alpha);
    }
  }
  if ($("readings").value !== "corrected") form.append("readings", $("readings").value);
  const language = speechLanguageField().lang;
  if (language) form.append("lang", language);
  if ($("seed").value !== "") form.append("seed", $("seed").value);
  if (isIndexTTS2()) {
    for (const [field, id] of Object.entries(SAMPLING_FIELDS)) if ($(id).value !== "") form.append(field, $(id).value);
  }
  return form;
}

async function showAudio(job) {
  const blob = await (await api(job.audio_url)).blob();
  const url = URL.createObjectURL(blob);
  $("player").src = url;
  const link = $("download");
  link.href = url;
  link.download = job.output_file || job.id + ".wav";
  link.hidden = false;
  if (job.result) {
    $("timings").textContent = `${job.result.audio_seconds.toFixed(2)} s · RTF ${job.result.rtf.toFixed(3)} · ` +
      job.result.timings.map((s) => `${s.stage} ${s.seconds.toFixed(2)} s`).join(", ");
  }
}

// Streaming needs a readable response body and the Web Audio API; without them the page generates whole files.
const canStream = () => !!(window.AudioContext || window.webkitAudioContext) && !!window.ReadableStream &&
  typeof AbortController === "function";
const streamingOn = () => $("stream").checked && canStream();

function checkRequest() {
  if (!$("text").value.trim()) { setStatus(t("noText"), true); return false; }
  const voiceOption = $("voice").selectedOptions[0];
  if (isIndexTTS2() && !referenceClip() && !(voiceOption && voiceOption.dataset.type === "library")) {
    setStatus(t("needClip"), true);
    return false;
  }
  return true;
}

function generate() {
  if (!checkRequest()) return;
  if (streamingOn()) generateStreaming(); else generateJob();
}

// Whole file: submit a job, follow its progress, then play and offer the download.
async function generateJob() {
  const button = $("generate");
  button.disabled = true;
  $("progress").hidden = false;
  $("progress").value = 0;
  $("download").hidden = true;
  $("stream-status").textContent = "";
  setStatus(t("queued"));
  try {
    let job = await (await api("/v1/jobs", { method: "POST", body: buildForm() })).json();
    while (job.state === "queued" || job.state === "running") {
      await new Promise((resolve) => setTimeout(resolve, 300));
      job = await (await api("/v1/jobs/" + job.id)).json();
      $("progress").value = job.progress.fraction;
      if (job.state === "running") {
        setStatus(`${t("running")} ${job.progress.completed_segments}/${job.progress.total_segments || "?"}`);
      }
    }
    if (job.state !== "succeeded") throw new Error(t(job.state) + (job.error ? ": " + job.error : ""));
    $("progress").value = 1;
    await showAudio(job);
    setStatus(t("done"));
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    button.disabled = false;
    loadHistory();
  }
}

// --- streaming: POST /v1/tts with stream=true and format=pcm; the server sends each segment (default voice) or
// window (IndexTTS2) as raw 16-bit PCM the moment it exists. Every piece becomes an AudioBuffer scheduled right after
// the previous one on one AudioContext clock (gapless); Stop aborts the fetch, which makes the server cancel the
// synthesis; at the end the whole audio is offered as a WAV file like a job's.
let stream = null;  // the running stream: { controller, context, sources, stats }

function streamNote() {
  const windows = speechLanguages().length > 0 ? "streamWindows25" : "streamWindows";
  return t(isIndexTTS2() ? windows : "streamSegments") + " " + t("streamWav");
}

// The chosen speech language as a request field (none for "automatic" or engines without languages).
function speechLanguageField() {
  const code = speechLanguages().length > 0 ? $("speech-lang").value : "";
  return code ? { lang: code } : {};
}

function showStreamStatus(stats, final) {
  const parts = [t(final ? "streamedDone" : "streaming")];
  if (stats.firstChunkAt !== null) parts.push(`${t("firstAudio")} ${((stats.firstChunkAt - stats.requestedAt) / 1000).toFixed(2)} s`);
  parts.push(`${t("received")} ${(stats.samples / stats.sampleRate).toFixed(2)} s`);
  if (stats.stalls > 0) parts.push(`${stats.stalls} ${t("stalls")}`);
  if (final && stats.endedAt !== null) parts.push(`${((stats.endedAt - stats.requestedAt) / 1000).toFixed(2)} s`);
  $("stream-status").textContent = parts.join(" · ");
}

// Little-endian 16-bit PCM bytes → float samples; an odd trailing byte waits for the next piece.
function pcmToFloats(bytes) {
  const count = bytes.length >> 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  const floats = new Float32Array(count);
  for (let i = 0; i < count; i++) floats[i] = view.getInt16(2 * i, true) / 32768;
  return floats;
}

function schedule(session, floats) {
  const context = session.context, stats = session.stats;
  const buffer = context.createBuffer(1, floats.length, stats.sampleRate);
  buffer.copyToChannel(floats, 0);
  const source = context.createBufferSource();
  source.buffer = buffer;
  source.connect(context.destination);
  const now = context.currentTime;
  if (session.nextTime === null) {
    session.nextTime = now + 0.05;  // a little lead so the first buffer starts cleanly
    stats.firstStartAt = session.nextTime;
  } else if (session.nextTime < now) {
    stats.stalls += 1;  // the previous audio had finished playing: the stream starved
    session.nextTime = now + 0.02;
  }
  source.start(session.nextTime);
  session.nextTime += buffer.duration;
  stats.scheduledSeconds += buffer.duration;
  session.sources.add(source);
  source.onended = () => session.sources.delete(source);
}

// A mono 16-bit WAV file of the PCM pieces (byte arrays) as they arrived.
function wavBlob(pieces, sampleRate) {
  const bytes = pieces.reduce((n, p) => n + p.length, 0);
  const out = new DataView(new ArrayBuffer(44 + bytes));
  const text = (offset, s) => { for (let i = 0; i < s.length; i++) out.setUint8(offset + i, s.charCodeAt(i)); };
  text(0, "RIFF"); out.setUint32(4, 36 + bytes, true); text(8, "WAVE");
  text(12, "fmt "); out.setUint32(16, 16, true); out.setUint16(20, 1, true); out.setUint16(22, 1, true);
  out.setUint32(24, sampleRate, true); out.setUint32(28, 2 * sampleRate, true); out.setUint16(32, 2, true); out.setUint16(34, 16, true);
  text(36, "data"); out.setUint32(40, bytes, true);
  let offset = 44;
  for (const piece of pieces) {
    new Uint8Array(out.buffer, offset, piece.length).set(piece);
    offset += piece.length;
  }
  return new Blob([out.buffer], { type: "audio/wav" });
}

async function generateStreaming() {
  const button = $("generate");
  button.disabled = true;
  $("stop").hidden = false;
  $("progress").hidden = true;
  $("download").hidden = true;
  $("timings").textContent = "";
  const form = buildForm();
  form.set("format", "pcm");
  form.set("stream", "true");
  const AudioContextType = window.AudioContext || window.webkitAudioContext;
  let context;
  const engineRate = (engine && engine.sampleRate) || 22050;
  try { context = new AudioContextType({ sampleRate: engineRate }); } catch (_) { context = new AudioContextType(); }
  context.resume();
  const stats = { requestedAt: performance.now(), responseAt: null, firstChunkAt: null, firstStartAt: null,
                  endedAt: null, endedContextTime: null, chunks: 0, samples: 0, stalls: 0, scheduledSeconds: 0,
                  sampleRate: engineRate, state: "requesting", error: null };
  const session = { controller: new AbortController(), context, sources: new Set(), nextTime: null, stats };
  stream = session;
  window.indexttsStream = stats;  // what the page measured, for tests and the curious
  setStatus(t("running"));
  $("stream-status").textContent = streamNote();
  const pieces = [];
  try {
    const response = await api("/v1/tts", { method: "POST", body: form, signal: session.controller.signal });
    stats.responseAt = performance.now();
    stats.sampleRate = Number(response.headers.get("X-IndexTTS-Sample-Rate")) || engineRate;
    stats.state = "streaming";
    const reader = response.body.getReader();
    let carry = null;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let bytes = value;
      if (carry !== null) { bytes = new Uint8Array(value.length + 1); bytes[0] = carry; bytes.set(value, 1); carry = null; }
      if (bytes.length % 2 === 1) { carry = bytes[bytes.length - 1]; bytes = bytes.subarray(0, bytes.length - 1); }
      if (bytes.length === 0) continue;
      pieces.push(bytes.slice());
      if (stats.firstChunkAt === null) stats.firstChunkAt = performance.now();
      stats.chunks += 1;
      stats.samples += bytes.length / 2;
      schedule(session, pcmToFloats(bytes));
      showStreamStatus(stats, false);
    }
    stats.endedAt = performance.now();
    stats.endedContextTime = context.currentTime;
    stats.state = "done";
    showStreamStatus(stats, true);
    setStatus(t("done"));
  } catch (e) {
    stats.endedAt = performance.now();
    if (session.controller.signal.aborted) {
      stats.state = "stopped";
      setStatus(t("stopped"));
    } else {
      stats.state = "failed";
      stats.error = e.message;
      setStatus(e.message, true);
    }
  } finally {
    button.disabled = false;
    $("stop").hidden = true;
    if (stream === session) stream = null;
  }
  if (pieces.length > 0) {
    const url = URL.createObjectURL(wavBlob(pieces, stats.sampleRate));
    $("player").src = url;
    const link = $("download");
    link.href = url;
    link.download = "indextts-stream-" + new Date().toISOString().replace(/[:.]/g, "-") + ".wav";
    link.hidden = false;
  }
  if (stats.state !== "done") {
    // What was heard so far is kept for download; nothing more plays.
    for (const source of session.sources) { try { source.stop(); } catch (_) { /* not started */ } }
    context.close();
  } else {
    // Close the context once the last buffer has played.
    const left = Math.max(0, (session.nextTime || 0) - context.currentTime);
    setTimeout(() => context.close(), 1000 * left + 500);
  }
}

function stopStreaming() {
  if (stream) stream.controller.abort();
}

async function loadHistory() {
  try {
    const page = await (await api("/v1/jobs?limit=10")).json();
    const list = $("history");
    list.innerHTML = "";
    for (const job of page.data) {
      const li = document.createElement("li");
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = job.text;
      text.title = job.text;
      const state = document.createElement("span");
      state.textContent = t(job.state === "succeeded" ? "done" : job.state);
      li.append(text, state);
      if (job.state === "succeeded") {
        const play = document.createElement("button");
        play.type = "button";
        play.textContent = t("play");
        play.addEventListener("click", () => showAudio(job).then(() => $("player").play()).catch((e) => setStatus(e.message, true)));
        li.append(play);
      }
      list.appendChild(li);
    }
  } catch (_) { /* history is optional (e.g. before the API key is entered) */ }
}

function init() {
  $("api-key").value = localStorage.getItem("indextts-api-key") || "";
  $("api-key").addEventListener("change", () => {
    localStorage.setItem("indextts-api-key", $("api-key").value.trim());
    loadVoices();
    loadHistory();
  });
  $("lang-toggle").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("indextts-lang", lang);
    applyLanguage();
    loadVoices($("voice").value);
  });
  $("text").addEventListener("input", updateCount);
  $("readings").addEventListener("change", updateCount);
  $("speech-lang").addEventListener("change", updateCount);
  $("save-voice").addEventListener("click", saveVoice);
  $("delete-voice").addEventListener("click", deleteVoice);
  $("record").addEventListener("click", toggleRecording);
  $("ref-file").addEventListener("change", () => {
    const file = $("ref-file").files[0];
    if (file) { recorded = null; $("ref-player").src = URL.createObjectURL(file); $("ref-player").hidden = false; }
  });
  document.querySelectorAll("input[name=emo-mode]").forEach((el) => el.addEventListener("change", showModePanels));
  $("preset").addEventListener("change", showModePanels);
  for (const id of ["emo-alpha", "speed"]) $(id).addEventListener("input", () => { $(id + "-value").textContent = Number($(id).value).toFixed(2); });
  $("generate").addEventListener("click", generate);
  $("stop").addEventListener("click", stopStreaming);
  $("stream").checked = localStorage.getItem("indextts-stream") !== "off";
  $("stream").disabled = !canStream();
  if (!canStream()) $("stream-row").title = t("noStreaming");
  $("stream").addEventListener("change", () => {
    localStorage.setItem("indextts-stream", $("stream").checked ? "on" : "off");
    $("stream-status").textContent = $("stream").checked ? streamNote() : "";
  });
  buildSliders();
  applyLanguage();
  showModePanels();
  loadEngine();
  loadVoices();
  loadHistory();
}

document.addEventListener("DOMContentLoaded", init);

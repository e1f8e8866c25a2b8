"""Prints `indextts bench e2e --json` output (and, when given, tools/bench/torch_e2e.py --json output) as text, the
two side by side per stage. Usage: e2e_report.py OURS.json [REFERENCE.json]"""
import json
import sys


def mb(b):
    return f"{b / 1e6:.0f} MB"


ours = json.load(open(sys.argv[1]))
m = ours["machine"]
print(f"ours: load {ours['loadSeconds']:.2f} s (resident {mb(ours['residentAfterLoadBytes'])}: anon "
      f"{mb(ours['anonymousAfterLoadBytes'])}, file {mb(ours['fileAfterLoadBytes'])}), peak {mb(ours['peakResidentBytes'])}")
for run in ours["runs"]:
    print(f"  {run['voice']}: {run['seconds']:.2f} s for {run['audioSeconds']:.2f} s, RTF {run['realTimeFactor']:.2f}, "
          f"codes {run['codes']}, peak {mb(run['peakResidentBytes'])}, after: anon {mb(run['anonymousAfterBytes'])} "
          f"file {mb(run['fileAfterBytes'])}")
    for s in run["stages"]:
        print(f"    {s['name']:52s} {s['seconds']:9.3f} s")
if len(sys.argv) > 2:
    ref = json.load(open(sys.argv[2]))
    print(f"reference: load {ref['load_seconds']:.2f} s (resident {mb(ref['resident_after_load_bytes'])}), "
          f"peak {mb(ref['peak_resident_bytes'])}")
    for run in ref["runs"]:
        print(f"  {run['voice']}: {run['seconds']:.2f} s for {run['audio_seconds']:.2f} s, RTF {run['rtf']:.2f}, "
              f"codes {run['codes']}, peak {mb(run['peak_resident_bytes'])}")
        for name, seconds in run["stages"].items():
            print(f"    {name:52s} {seconds:9.3f} s")
    for a, b in zip(ours["runs"], ref["runs"]):
        print(f"end to end ({a['voice']} / {b['voice']}): ours {a['seconds']:.1f} s, reference {b['seconds']:.1f} s, "
              f"speed-up {b['seconds'] / a['seconds']:.2f}x")

/// The OpenAPI 3.1 description served at `/openapi.json` (kept in step with the routes; a test checks that every
/// route the router serves is documented).
enum OpenAPIDocument {
    static let json = #"""
{
 "openapi": "3.1.0",
 "info": {
  "title": "IndexTTS-Swift API",
  "version": "1.0.0",
  "description": "OpenAI-compatible speech, IndexTTS2's native parameters, a persistent job queue and a voice library."
 },
 "components": {
  "securitySchemes": {
   "bearer": {
    "type": "http",
    "scheme": "bearer"
   }
  },
  "schemas": {
   "Error": {
    "type": "object",
    "required": [
     "error"
    ],
    "properties": {
     "error": {
      "type": "object",
      "required": [
       "message",
       "type"
      ],
      "properties": {
       "message": {
        "type": "string"
       },
       "type": {
        "type": "string"
       },
       "param": {
        "type": [
         "string",
         "null"
        ]
       },
       "code": {
        "type": [
         "string",
         "null"
        ]
       }
      }
     }
    }
   },
   "Job": {
    "type": "object",
    "required": [
     "id",
     "object",
     "state",
     "created_at",
     "progress"
    ],
    "properties": {
     "id": {
      "type": "string"
     },
     "object": {
      "const": "tts.job"
     },
     "state": {
      "type": "string",
      "enum": [
       "queued",
       "running",
       "succeeded",
       "failed",
       "cancelled"
      ]
     },
     "created_at": {
      "type": "number"
     },
     "started_at": {
      "type": [
       "number",
       "null"
      ]
     },
     "finished_at": {
      "type": [
       "number",
       "null"
      ]
     },
     "attempts": {
      "type": "integer"
     },
     "progress": {
      "type": "object",
      "properties": {
       "completed_segments": {
        "type": "integer"
       },
       "total_segments": {
        "type": "integer"
       },
       "fraction": {
        "type": "number"
       },
       "audio_seconds": {
        "type": "number"
       }
      }
     },
     "text": {
      "type": "string"
     },
     "parameters": {
      "type": "object"
     },
     "result": {
      "type": [
       "object",
       "null"
      ]
     },
     "error": {
      "type": [
       "string",
       "null"
      ]
     },
     "audio_url": {
      "type": [
       "string",
       "null"
      ]
     },
     "output_file": {
      "type": [
       "string",
       "null"
      ]
     }
    }
   },
   "JobList": {
    "type": "object",
    "properties": {
     "object": {
      "const": "list"
     },
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Job"
      }
     },
     "total": {
      "type": "integer"
     },
     "has_more": {
      "type": "boolean"
     }
    }
   },
   "Voice": {
    "type": "object",
    "required": [
     "name",
     "type"
    ],
    "properties": {
     "name": {
      "type": "string"
     },
     "object": {
      "const": "voice"
     },
     "type": {
      "type": "string",
      "enum": [
       "built-in",
       "alias",
       "library"
      ]
     },
     "alias_of": {
      "type": [
       "string",
       "null"
      ]
     },
     "engine": {
      "type": "string"
     },
     "entry": {
      "type": [
       "object",
       "null"
      ]
     }
    }
   },
   "VoiceList": {
    "type": "object",
    "properties": {
     "object": {
      "const": "list"
     },
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Voice"
      }
     }
    }
   },
   "Preview": {
    "type": "object",
    "properties": {
     "engine": {
      "type": "string"
     },
     "text": {
      "type": "string"
     },
     "normalized": {
      "type": "string"
     },
     "segments": {
      "type": "array",
      "items": {
       "type": "object",
       "properties": {
        "text": {
         "type": "string"
        },
        "pinyin": {
         "type": "array",
         "items": {
          "type": "string"
         }
        },
        "symbols": {
         "type": "array",
         "items": {
          "type": "string"
         }
        },
        "unread": {
         "type": "array",
         "items": {
          "type": "string"
         }
        },
        "pause_seconds": {
         "type": "number"
        }
       }
      }
     }
    }
   }
  }
 },
 "security": [
  {
   "bearer": []
  }
 ],
 "paths": {
  "/v1/audio/speech": {
   "post": {
    "summary": "OpenAI-compatible speech",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "required": [
         "input"
        ],
        "properties": {
         "model": {
          "type": "string"
         },
         "input": {
          "type": "string",
          "maxLength": 4096
         },
         "voice": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "object",
            "properties": {
             "id": {
              "type": "string"
             }
            }
           }
          ]
         },
         "response_format": {
          "type": "string",
          "enum": [
           "mp3",
           "opus",
           "aac",
           "flac",
           "wav",
           "pcm"
          ],
          "default": "mp3"
         },
         "speed": {
          "type": "number",
          "minimum": 0.25,
          "maximum": 4,
          "default": 1
         },
         "instructions": {
          "type": "string"
         },
         "stream_format": {
          "type": "string",
          "enum": [
           "audio",
           "sse"
          ]
         }
        }
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "Audio",
      "headers": {
       "X-IndexTTS-RTF": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Total-Seconds": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Time-To-First-Audio": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Audio-Seconds": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Timings": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Controls": {
        "schema": {
         "type": "string"
        }
       }
      },
      "content": {
       "audio/mpeg": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/ogg": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/flac": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/wav": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/pcm": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "text/event-stream": {
        "schema": {
         "type": "string"
        }
       },
       "audio/aac": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       }
      }
     },
     "400": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "413": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/models": {
   "get": {
    "summary": "Models /v1/audio/speech accepts",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     }
    }
   }
  },
  "/v1/tts": {
   "post": {
    "summary": "Synthesise with IndexTTS2's parameters",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "required": [
         "text"
        ],
        "properties": {
         "text": {
          "description": "Text; /v1/jobs also takes an array (JSON) or 'texts' (a JSON array, multipart)",
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "array",
            "items": {
             "type": "string"
            }
           }
          ]
         },
         "voice": {
          "type": "string"
         },
         "emotion": {
          "type": "string",
          "description": "Preset id or label"
         },
         "emo_vector": {
          "type": "array",
          "items": {
           "type": "number"
          },
          "minItems": 8,
          "maxItems": 8
         },
         "emo_text": {
          "type": "string"
         },
         "emo_alpha": {
          "type": "number",
          "minimum": 0,
          "maximum": 1
         },
         "speed": {
          "type": "number",
          "minimum": 0.25,
          "maximum": 4
         },
         "seed": {
          "type": "integer",
          "minimum": 0
         },
         "format": {
          "type": "string",
          "enum": [
           "wav",
           "mp3",
           "opus",
           "aac",
           "flac",
           "pcm"
          ]
         },
         "do_sample": {
          "type": "boolean"
         },
         "top_p": {
          "type": "number"
         },
         "top_k": {
          "type": "integer"
         },
         "temperature": {
          "type": "number"
         },
         "num_beams": {
          "type": "integer"
         },
         "repetition_penalty": {
          "type": "number"
         },
         "max_mel_tokens": {
          "type": "integer"
         }
        }
       }
      },
      "multipart/form-data": {
       "schema": {
        "type": "object",
        "properties": {
         "text": {
          "type": "string"
         },
         "voice": {
          "type": "string"
         },
         "emotion": {
          "type": "string",
          "description": "Preset id or label"
         },
         "emo_vector": {
          "type": "string",
          "description": "8 comma-separated weights"
         },
         "emo_text": {
          "type": "string"
         },
         "emo_alpha": {
          "type": "number",
          "minimum": 0,
          "maximum": 1
         },
         "speed": {
          "type": "number",
          "minimum": 0.25,
          "maximum": 4
         },
         "seed": {
          "type": "integer",
          "minimum": 0
         },
         "format": {
          "type": "string",
          "enum": [
           "wav",
           "mp3",
           "opus",
           "aac",
           "flac",
           "pcm"
          ]
         },
         "do_sample": {
          "type": "boolean"
         },
         "top_p": {
          "type": "number"
         },
         "top_k": {
          "type": "integer"
         },
         "temperature": {
          "type": "number"
         },
         "num_beams": {
          "type": "integer"
         },
         "repetition_penalty": {
          "type": "number"
         },
         "max_mel_tokens": {
          "type": "integer"
         },
         "texts": {
          "type": "string",
          "description": "JSON array of texts (jobs only)"
         },
         "spk_audio_prompt": {
          "type": "string",
          "format": "binary"
         },
         "emo_audio_prompt": {
          "type": "string",
          "format": "binary"
         }
        }
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "Audio",
      "headers": {
       "X-IndexTTS-RTF": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Total-Seconds": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Time-To-First-Audio": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Audio-Seconds": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Timings": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Controls": {
        "schema": {
         "type": "string"
        }
       }
      },
      "content": {
       "audio/mpeg": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/ogg": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/flac": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/wav": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/pcm": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/aac": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       }
      }
     },
     "400": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "413": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/text/preview": {
   "get": {
    "summary": "How a text will be read",
    "parameters": [
     {
      "name": "text",
      "in": "query",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Preview"
        }
       }
      }
     },
     "400": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   },
   "post": {
    "summary": "How a text will be read (long texts)",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "required": [
         "text"
        ],
        "properties": {
         "text": {
          "type": "string"
         }
        }
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Preview"
        }
       }
      }
     },
     "400": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/jobs": {
   "post": {
    "summary": "Queue one text or a list",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "required": [
         "text"
        ],
        "properties": {
         "text": {
          "description": "Text; /v1/jobs also takes an array (JSON) or 'texts' (a JSON array, multipart)",
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "array",
            "items": {
             "type": "string"
            }
           }
          ]
         },
         "voice": {
          "type": "string"
         },
         "emotion": {
          "type": "string",
          "description": "Preset id or label"
         },
         "emo_vector": {
          "type": "array",
          "items": {
           "type": "number"
          },
          "minItems": 8,
          "maxItems": 8
         },
         "emo_text": {
          "type": "string"
         },
         "emo_alpha": {
          "type": "number",
          "minimum": 0,
          "maximum": 1
         },
         "speed": {
          "type": "number",
          "minimum": 0.25,
          "maximum": 4
         },
         "seed": {
          "type": "integer",
          "minimum": 0
         },
         "format": {
          "type": "string",
          "enum": [
           "wav",
           "mp3",
           "opus",
           "aac",
           "flac",
           "pcm"
          ]
         },
         "do_sample": {
          "type": "boolean"
         },
         "top_p": {
          "type": "number"
         },
         "top_k": {
          "type": "integer"
         },
         "temperature": {
          "type": "number"
         },
         "num_beams": {
          "type": "integer"
         },
         "repetition_penalty": {
          "type": "number"
         },
         "max_mel_tokens": {
          "type": "integer"
         }
        }
       }
      },
      "multipart/form-data": {
       "schema": {
        "type": "object",
        "properties": {
         "text": {
          "type": "string"
         },
         "voice": {
          "type": "string"
         },
         "emotion": {
          "type": "string",
          "description": "Preset id or label"
         },
         "emo_vector": {
          "type": "string",
          "description": "8 comma-separated weights"
         },
         "emo_text": {
          "type": "string"
         },
         "emo_alpha": {
          "type": "number",
          "minimum": 0,
          "maximum": 1
         },
         "speed": {
          "type": "number",
          "minimum": 0.25,
          "maximum": 4
         },
         "seed": {
          "type": "integer",
          "minimum": 0
         },
         "format": {
          "type": "string",
          "enum": [
           "wav",
           "mp3",
           "opus",
           "aac",
           "flac",
           "pcm"
          ]
         },
         "do_sample": {
          "type": "boolean"
         },
         "top_p": {
          "type": "number"
         },
         "top_k": {
          "type": "integer"
         },
         "temperature": {
          "type": "number"
         },
         "num_beams": {
          "type": "integer"
         },
         "repetition_penalty": {
          "type": "number"
         },
         "max_mel_tokens": {
          "type": "integer"
         },
         "texts": {
          "type": "string",
          "description": "JSON array of texts (jobs only)"
         },
         "spk_audio_prompt": {
          "type": "string",
          "format": "binary"
         },
         "emo_audio_prompt": {
          "type": "string",
          "format": "binary"
         }
        }
       }
      }
     }
    },
    "responses": {
     "202": {
      "description": "Queued",
      "content": {
       "application/json": {
        "schema": {
         "oneOf": [
          {
           "$ref": "#/components/schemas/Job"
          },
          {
           "$ref": "#/components/schemas/JobList"
          }
         ]
        }
       }
      }
     },
     "400": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "413": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   },
   "get": {
    "summary": "Jobs, newest first",
    "parameters": [
     {
      "name": "limit",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 500
      }
     },
     {
      "name": "offset",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 0
      }
     },
     {
      "name": "state",
      "in": "query",
      "schema": {
       "type": "string",
       "enum": [
        "queued",
        "running",
        "succeeded",
        "failed",
        "cancelled"
       ]
      }
     }
    ],
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/JobList"
        }
       }
      }
     },
     "400": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/jobs/{id}": {
   "get": {
    "summary": "A job",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       }
      }
     },
     "404": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   },
   "delete": {
    "summary": "Cancel a job",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       }
      }
     },
     "404": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/jobs/{id}/audio": {
   "get": {
    "summary": "A finished job's audio",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "Audio",
      "headers": {
       "X-IndexTTS-RTF": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Total-Seconds": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Time-To-First-Audio": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Audio-Seconds": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Timings": {
        "schema": {
         "type": "string"
        }
       },
       "X-IndexTTS-Controls": {
        "schema": {
         "type": "string"
        }
       }
      },
      "content": {
       "audio/mpeg": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/ogg": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/flac": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/wav": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/pcm": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "audio/aac": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       }
      }
     },
     "404": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "409": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "410": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/voices": {
   "get": {
    "summary": "Voices",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/VoiceList"
        }
       }
      }
     }
    }
   },
   "post": {
    "summary": "Add a voice",
    "requestBody": {
     "required": true,
     "content": {
      "multipart/form-data": {
       "schema": {
        "type": "object",
        "required": [
         "name",
         "audio"
        ],
        "properties": {
         "name": {
          "type": "string",
          "pattern": "^[\\p{L}\\p{N}][\\p{L}\\p{N}_-]{0,63}$"
         },
         "audio": {
          "type": "string",
          "format": "binary"
         },
         "description": {
          "type": "string"
         }
        }
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "Created",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Voice"
        }
       }
      }
     },
     "400": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "409": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "413": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/voices/{name}": {
   "get": {
    "summary": "A voice",
    "parameters": [
     {
      "name": "name",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Voice"
        }
       }
      }
     },
     "404": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   },
   "delete": {
    "summary": "Delete a library voice",
    "parameters": [
     {
      "name": "name",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "Deleted",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "404": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "409": {
      "description": "Error (OpenAI error shape)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/healthz": {
   "get": {
    "summary": "Health",
    "security": [],
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "503": {
      "description": "Queue unavailable",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     }
    }
   }
  },
  "/metrics": {
   "get": {
    "summary": "Prometheus metrics",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    }
   }
  },
  "/openapi.json": {
   "get": {
    "summary": "This document",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     }
    }
   }
  }
 }
}
"""#
}

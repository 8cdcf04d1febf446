{
  "targets": [
    {
      "target_name": "gptlab_native",
      "sources": ["csrc/addon.cc", "csrc/isa.cc", "csrc/pool.cc", "csrc/sgemm.cc", "csrc/ops.cc", "csrc/attention.cc", "csrc/decode.cc", "csrc/decode_napi.cc", "csrc/decode_rows.cc", "csrc/decode_rows_napi.cc", "csrc/decode_bf16.cc", "csrc/decode_q8.cc", "csrc/train_ops.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2"],
      "cflags": ["-O3", "-fexceptions"],
      "cflags_cc": ["-O3", "-fexceptions", "-std=gnu++17", "-fno-math-errno", "-fno-trapping-math"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=gnu++17"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}

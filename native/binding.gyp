{
  "targets": [
    {
      "target_name": "dpemu_native",
      "sources": ["src/addon.cc", "src/stages.cc", "src/conntrack.cc", "src/dispatch.cc", "src/ip4.cc", "src/edge.cc", "src/nffilter.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fexceptions", "-O2", "-O1", "-O0"],
      "cflags_cc!": ["-fexceptions", "-std=gnu++17", "-O2", "-O1", "-O0"],
      "cflags": ["-O3", "-Wall", "-Wextra"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3"
      }
    }
  ]
}

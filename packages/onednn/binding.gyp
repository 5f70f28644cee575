{
  "targets": [
    {
      "target_name": "cvw_onednn",
      "sources": ["src/onednn.cc"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wall"],
      "libraries": ["-ldnnl"]
    }
  ]
}

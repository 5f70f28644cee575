{
  "targets": [
    {
      "target_name": "cvw_mpi",
      "sources": ["src/mpi.c"],
      "cflags": ["<!@(pkg-config --cflags ompi-c)", "-std=c11", "-Wall"],
      "libraries": ["<!@(pkg-config --libs ompi-c)"]
    }
  ]
}

{
  "targets": [
    {
      "target_name": "isakmp_netlink",
      "sources": ["netlink.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}

-- expect: memory limit \(256 MiB\) exceeded|not enough memory
return string.rep("x", 1 << 30)

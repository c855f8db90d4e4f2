-- expect: :[0-9]+: chunk larger than the sandbox compiles \(4 MiB\)$
local f, err = load(string.rep("a = 1 ", 1000000))
error(err)

-- expect: invalid conversion
return ip{}/string.format("%99999d", 1)

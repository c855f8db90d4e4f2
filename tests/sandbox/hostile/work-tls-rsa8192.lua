-- expect: key_type|key generation limit
return tls{key_type="rsa:8192"}

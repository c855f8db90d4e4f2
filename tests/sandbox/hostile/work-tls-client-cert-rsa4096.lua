-- expect: key_type|key generation limit \(16 RSA-2048 keys
-- a CA, a server and a client key of 4096 bits: 24 RSA-2048 keys of work
return tls{key_type="rsa:4096", client_cert=true, client_key_type="rsa:4096"}

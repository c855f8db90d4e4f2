-- expect: tls: (work limit \(500 handshakes per evaluation\) exceeded|count)
return tls{key_type="ec:P-256", count=10000}

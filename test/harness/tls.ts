// A self-signed, test-only certificate for API servers started with TLS in tests (CN
// cell-test-localhost, SAN IP:127.0.0.1 and DNS:localhost, valid 2000-2099, CA:TRUE so it can be its
// own certificate-authority-data). Its key is public on purpose: it protects nothing. kubectl sends
// a kubeconfig user's bearer token only over TLS, so token-auth tests with real clients need it.

export const TEST_TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVf+BvKKIxs/buZz+
3rw9zn7Gdc2p0yrP7Y0mXhnqtI6hRANCAAQYkFsNah9HlS45yQH+4kDDRllG0OVC
v15ZxqxI3h/4Zb58+XRmmjLWemZv0Prj5uEQNlVuZnxnAcahbBgvGZjL
-----END PRIVATE KEY-----
`;

export const TEST_TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBnzCCAUagAwIBAgIBATAKBggqhkjOPQQDAjAeMRwwGgYDVQQDDBNjZWxsLXRl
c3QtbG9jYWxob3N0MCAXDTAwMDEwMTAwMDAwMFoYDzIwOTkxMjMxMDAwMDAwWjAe
MRwwGgYDVQQDDBNjZWxsLXRlc3QtbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZI
zj0DAQcDQgAEGJBbDWofR5UuOckB/uJAw0ZZRtDlQr9eWcasSN4f+GW+fPl0Zpoy
1npmb9D64+bhEDZVbmZ8ZwHGoWwYLxmYy6NzMHEwGgYDVR0RBBMwEYcEfwAAAYIJ
bG9jYWxob3N0MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgKEMBMGA1Ud
JQQMMAoGCCsGAQUFBwMBMB0GA1UdDgQWBBRKvp7fjk7kv7+llYRZqGH/D8MMZTAK
BggqhkjOPQQDAgNHADBEAiBwHhOumtMf4PY+hLgtgQlxQrxttjvU2m/3Pr7xk5ZG
kQIgAnep/0H64fGdy5mt7offdh/sK5JyUHvZOLM24dx3GSE=
-----END CERTIFICATE-----
`;

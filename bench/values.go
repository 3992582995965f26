package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// secretKinds are the kinds of value the suite seeds, with the name stem each goes under.
var secretKinds = []struct {
	stem  string
	value func(r *rand.Rand) string
}{
	{"STRIPE_API_KEY", func(r *rand.Rand) string { return "sk_live_" + alnum(r, 99) }},
	{"GCP_SERVICE_ACCOUNT_JSON", serviceAccountJSON},
	{"TLS_CERT_CHAIN_PEM", func(r *rand.Rand) string { return pemBlock(r, "CERTIFICATE", 1190) + pemBlock(r, "CERTIFICATE", 1050) }},
	{"DATABASE_URL", func(r *rand.Rand) string {
		return fmt.Sprintf("postgres://app_%s:%s@db-%d.internal.example.com:5432/app?sslmode=verify-full", alnum(r, 6), alnum(r, 32), r.IntN(9))
	}},
	{"GITHUB_TOKEN", func(r *rand.Rand) string { return "ghp_" + alnum(r, 36) }},
	{"TLS_PRIVATE_KEY_PEM", func(r *rand.Rand) string { return pemBlock(r, "PRIVATE KEY", 1218) }},
	{"SLACK_BOT_TOKEN", func(r *rand.Rand) string {
		return fmt.Sprintf("xoxb-%d-%d-%s", 1e11+r.Int64N(9e11), 1e12+r.Int64N(9e12), alnum(r, 24))
	}},
	{"AWS_SECRET_ACCESS_KEY", func(r *rand.Rand) string { return base64.StdEncoding.EncodeToString(randBytes(r, 30)) }},
}

const alnumChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func alnum(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnumChars[r.IntN(len(alnumChars))]
	}
	return string(b)
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// pemBlock is a PEM block of n random bytes: the size and shape of a certificate or key, not a real one.
func pemBlock(r *rand.Rand, typ string, n int) string {
	enc := base64.StdEncoding.EncodeToString(randBytes(r, n))
	var sb strings.Builder
	sb.WriteString("-----BEGIN " + typ + "-----\n")
	for len(enc) > 64 {
		sb.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	sb.WriteString(enc + "\n-----END " + typ + "-----\n")
	return sb.String()
}

// serviceAccountJSON is a cloud service-account key file of about 2.4 KB, PEM key and all.
func serviceAccountJSON(r *rand.Rand) string {
	project := "acme-" + strings.ToLower(alnum(r, 6))
	account := "svc-" + strings.ToLower(alnum(r, 8))
	v := map[string]string{
		"type":                        "service_account",
		"project_id":                  project,
		"private_key_id":              hex.EncodeToString(randBytes(r, 20)),
		"private_key":                 pemBlock(r, "PRIVATE KEY", 1218),
		"client_email":                account + "@" + project + ".iam.gserviceaccount.example.com",
		"client_id":                   fmt.Sprint(1e20 + r.Float64()*9e20),
		"auth_uri":                    "https://accounts.example.com/o/oauth2/auth",
		"token_uri":                   "https://oauth2.example.com/token",
		"auth_provider_x509_cert_url": "https://www.example.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.example.com/robot/v1/metadata/x509/" + account,
		"universe_domain":             "example.com",
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// seedValue returns the name and value of the i-th bulk secret.
func seedValue(seed uint64, i int) (string, string) {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	k := secretKinds[i%len(secretKinds)]
	return fmt.Sprintf("%s_%05d", k.stem, i), k.value(r)
}

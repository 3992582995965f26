// Command fetch-secret fetches one secret's value from keyhold with nothing but net/http:
//
//	KEYHOLD_URL=http://127.0.0.1:8080 KEYHOLD_API_KEY=kh_... go run ./examples/fetch-secret API_TOKEN
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fetch-secret NAME")
		os.Exit(2)
	}
	value, err := fetchSecret(os.Getenv("KEYHOLD_URL"), os.Getenv("KEYHOLD_API_KEY"), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch-secret:", err)
		os.Exit(1)
	}
	fmt.Print(value)
}

// fetchSecret asks GET /v1/secrets?name=NAME, which answers {"secrets": [...]} with the value, or an
// empty list when the secret does not exist or is not shared with the key's user.
func fetchSecret(baseURL, apiKey, name string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, baseURL+"/v1/secrets?name="+url.QueryEscape(name), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		return "", fmt.Errorf("%s: %s", resp.Status, e.Message)
	}
	var out struct {
		Secrets []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"secrets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	if len(out.Secrets) == 0 {
		return "", fmt.Errorf("secret %s not found", name)
	}
	return out.Secrets[0].Value, nil
}

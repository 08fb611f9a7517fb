package backup

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"filippo.io/age"
)

// SecretsFile is the name of the encrypted secrets in a backup.
const SecretsFile = "secrets.env.age"

// ErrNoKey says secrets would have to be written without encryption.
var ErrNoKey = fmt.Errorf("refusing to back up the stack's secrets without a key: restored data is useless without them, and berth never stores them in plaintext; give an age recipient (--recipient age1... or BERTH_BACKUP_RECIPIENT) or a passphrase (BERTH_BACKUP_PASSPHRASE), or pass --no-secrets to leave them out")

// Recipients parses age recipients (one per line, # comments allowed), or
// makes a scrypt recipient from a passphrase.
func Recipients(recipient, passphrase string) ([]age.Recipient, error) {
	switch {
	case recipient != "":
		rs, err := age.ParseRecipients(strings.NewReader(recipient))
		if err != nil {
			return nil, fmt.Errorf("parse backup recipient: %w", err)
		}
		return rs, nil
	case passphrase != "":
		r, err := age.NewScryptRecipient(passphrase)
		if err != nil {
			return nil, fmt.Errorf("use backup passphrase: %w", err)
		}
		return []age.Recipient{r}, nil
	}
	return nil, nil
}

// Identities parses age identities (the contents of an identity file), or
// makes a scrypt identity from a passphrase.
func Identities(identityFile []byte, passphrase string) ([]age.Identity, error) {
	var ids []age.Identity
	if len(identityFile) > 0 {
		parsed, err := age.ParseIdentities(bytes.NewReader(identityFile))
		if err != nil {
			return nil, fmt.Errorf("parse backup identity: %w", err)
		}
		ids = append(ids, parsed...)
	}
	if passphrase != "" {
		id, err := age.NewScryptIdentity(passphrase)
		if err != nil {
			return nil, fmt.Errorf("use backup passphrase: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// encryptSecrets seals NAME=value lines, sorted, to the recipients.
func encryptSecrets(secrets map[string]string, to []age.Recipient) ([]byte, error) {
	names := make([]string, 0, len(secrets))
	for k := range secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	var out bytes.Buffer
	w, err := age.Encrypt(&out, to...)
	if err != nil {
		return nil, fmt.Errorf("encrypt secrets: %w", err)
	}
	for _, k := range names {
		if _, err := io.WriteString(w, k+"="+secrets[k]+"\n"); err != nil {
			return nil, fmt.Errorf("encrypt secrets: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypt secrets: %w", err)
	}
	return out.Bytes(), nil
}

// decryptSecrets opens what encryptSecrets sealed.
func decryptSecrets(sealed io.Reader, ids []age.Identity) (map[string]string, error) {
	r, err := age.Decrypt(sealed, ids...)
	if err != nil {
		return nil, fmt.Errorf("decrypt secrets: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("decrypt secrets: %w", err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if name, value, ok := strings.Cut(line, "="); ok && name != "" {
			m[name] = value
		}
	}
	return m, nil
}

package rotor

import (
	"context"
	"io"
	"time"
)

// Identity is a named principal that authenticates with access keys.
type Identity struct {
	Name        string
	Role        Role
	CreatedDate time.Time
	AccessKeys  []AccessKeyInfo
}

// Access key states.
const (
	KeyActive   = "Active"
	KeyInactive = "Inactive"
)

// MaxAccessKeysPerIdentity is how many access keys one identity may hold.
const MaxAccessKeysPerIdentity = 2

// AccessKeyInfo describes an access key without its secret.
type AccessKeyInfo struct {
	AccessKeyID string
	Identity    string
	Status      string // KeyActive or KeyInactive
	CreatedDate time.Time
}

// AccessKey is a newly created key, the only time its secret is shown.
type AccessKey struct {
	AccessKeyInfo
	SecretAccessKey string
}

// KeyInfo describes one key-encryption key of the keyring.
type KeyInfo struct {
	ID          string
	Active      bool // new data keys are wrapped by the active key
	CreatedDate time.Time
	// Wrapped counts the data keys (versions and access-key secrets) it wraps.
	Wrapped int
}

// AdminService is Rotor's own API (X-Amz-Target "rotor.<Op>"): identities
// and their policies, access keys, key-encryption keys and backups. Each
// operation is authorized as "rotor:<Op>" on no resource, which of the
// built-in documents only RoleAdmin's allows.
type AdminService interface {
	CreateIdentity(ctx context.Context, name string, role Role) (*Identity, error)
	ListIdentities(ctx context.Context) ([]Identity, error)
	// DeleteIdentity removes an identity and all its keys. An identity cannot
	// delete itself (ESTATE), so an operator cannot lock everyone out by mistake.
	DeleteIdentity(ctx context.Context, name string) error
	// PutIdentityPolicy sets the identity's inline identity policy (IAM's
	// grammar, at most 6,144 characters): EPOLICY for a malformed document.
	PutIdentityPolicy(ctx context.Context, name, doc string) error
	// GetIdentityPolicy returns the identity's inline identity policy.
	GetIdentityPolicy(ctx context.Context, name string) (string, error)
	// DeleteIdentityPolicy removes the identity's inline identity policy.
	DeleteIdentityPolicy(ctx context.Context, name string) error
	// CreateAccessKey adds a key (at most MaxAccessKeysPerIdentity; ELIMIT beyond).
	CreateAccessKey(ctx context.Context, identity string) (*AccessKey, error)
	// UpdateAccessKey sets a key's status to KeyActive or KeyInactive.
	UpdateAccessKey(ctx context.Context, accessKeyID, status string) error
	DeleteAccessKey(ctx context.Context, accessKeyID string) error

	// ListKeys lists the keyring's key-encryption keys.
	ListKeys(ctx context.Context) ([]KeyInfo, error)
	// RotateKeys adds a new key-encryption key, makes it active and re-wraps
	// every data key under it while the server keeps serving.
	RotateKeys(ctx context.Context) (*KeyInfo, error)
	// RetireKey removes a key-encryption key that wraps nothing any more
	// (ESTATE if it still wraps data keys or is the active key).
	RetireKey(ctx context.Context, id string) error

	// Backup writes a consistent snapshot of the database into the
	// server's backup directory, and nowhere else: path is a file name, or
	// a path inside that directory; the path written is returned. EINVALID
	// for any other path, or one that exists.
	Backup(ctx context.Context, path string) (string, error)
	// DownloadBackup takes a consistent snapshot of the database for the
	// caller to read, while the server keeps serving. The caller must Close
	// it. EINVALID when the store cannot be copied to a file (a database
	// store, backed up with its own tools).
	DownloadBackup(ctx context.Context) (*Snapshot, error)
}

// Snapshot is a consistent copy of the database, read once from its
// start: Size bytes whose SHA-256 digest is SHA256. It holds what the
// store holds, values sealed, so it reveals no value without the keyring.
// Close releases it; nothing of it stays on the server's disk.
type Snapshot struct {
	io.ReadCloser
	Size   int64
	SHA256 [32]byte
}

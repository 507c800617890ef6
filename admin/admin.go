package admin

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/envelope"
)

// rewrapBatch is how many stored values one RotateKeys transaction
// re-wraps; between batches the store serves other requests.
const rewrapBatch = 100

// Config configures a Service.
type Config struct {
	// Auth authorizes callers and manages identities and access keys.
	Auth *auth.Service
	// Store holds the sealed values RotateKeys re-wraps, and is what
	// Backup and DownloadBackup copy.
	Store rotor.Store
	// BackupDir is the one directory Backup writes into, created with
	// mode 0700 when a backup first needs it; "" refuses every Backup
	// (EINVALID), leaving DownloadBackup as the way to take one.
	BackupDir string
	// ScratchDir is where DownloadBackup takes its snapshots, each in a
	// private directory (0700) that is gone before the snapshot is
	// streamed; "" = os.TempDir(). RemoveScratch clears what a crash left.
	ScratchDir string
	// Keyring is the server's keyring of key-encryption keys.
	Keyring *envelope.Keyring
	// KeyFile is where the keyring is saved after every change. "" means
	// the keyring came from an environment variable: RotateKeys and
	// RetireKey then answer ESTATE, since a new key could not be kept.
	KeyFile string
	// OnRewrap, if not nil, is called after RotateKeys re-wrapped stored
	// data keys (so caches of sealed values can be dropped).
	OnRewrap func()
	// Reload, if not nil, reads the key file again into Keyring (its keys
	// and its active key); RotateKeys calls it first, so it sees a key
	// staged in the file since the server started.
	Reload func() error
	// Shared says other servers use the same store, each with its own copy
	// of the keyring: RotateKeys then only activates a staged key (one all
	// of them were given first) and never makes one they lack.
	Shared bool
	// Logger receives one line per change; nil discards them. Secrets
	// are never logged.
	Logger *slog.Logger
}

// Service implements rotor.AdminService. It is safe for concurrent use;
// key-encryption-key changes (RotateKeys, RetireKey) run one at a time.
type Service struct {
	auth       *auth.Service
	store      rotor.Store
	keyring    *envelope.Keyring
	keyFile    string
	backupDir  string // absolute, or "" for none
	scratchDir string
	onRewrap   func()
	reload     func() error
	shared     bool
	log        *slog.Logger

	keysMu sync.Mutex // serialises RotateKeys and RetireKey
}

var _ rotor.AdminService = (*Service)(nil)

// New returns a Service over cfg.
func New(cfg Config) *Service {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backupDir := cfg.BackupDir
	if backupDir != "" {
		if abs, err := filepath.Abs(backupDir); err == nil {
			backupDir = abs
		}
	}
	return &Service{auth: cfg.Auth, store: cfg.Store, keyring: cfg.Keyring, keyFile: cfg.KeyFile,
		backupDir: backupDir, scratchDir: cfg.ScratchDir, onRewrap: cfg.OnRewrap, reload: cfg.Reload, shared: cfg.Shared, log: log}
}

// authorize checks that the caller in ctx may perform rotor:<method> and
// returns it. Errors: EAUTHMISSING when ctx carries no caller, EDENIED
// when the caller may not act.
func (s *Service) authorize(ctx context.Context, method string) (rotor.Caller, error) {
	c, ok := rotor.CallerFrom(ctx)
	if !ok {
		return rotor.Caller{}, rotor.Errorf(rotor.EAUTHMISSING, "Missing Authentication Token")
	}
	if err := s.auth.Authorize(ctx, c, rotor.AccessRequest{Action: "rotor:" + method}); err != nil {
		return rotor.Caller{}, err
	}
	return c, nil
}

// CreateIdentity creates an identity with role (RoleAdmin, RoleReadOnly,
// or RoleNone for no rights until it is given an identity policy) and no
// access keys. Errors: EDENIED, EINVALID (name or role), EEXISTS,
// EINTERNAL; see auth.Service.CreateIdentity.
func (s *Service) CreateIdentity(ctx context.Context, name string, role rotor.Role) (*rotor.Identity, error) {
	c, err := s.authorize(ctx, "CreateIdentity")
	if err != nil {
		return nil, err
	}
	id, err := s.auth.CreateIdentity(ctx, name, role)
	if err != nil {
		return nil, err
	}
	s.log.Info("identity created", "identity", name, "role", string(role), "by", c.Principal.Identity)
	return id, nil
}

// PutIdentityPolicy sets the inline identity policy of identity name.
// Errors: EDENIED, EPOLICY (a malformed document), ELIMIT (over 6,144
// characters), ENOTFOUND, EINTERNAL; see auth.Service.PutIdentityPolicy.
func (s *Service) PutIdentityPolicy(ctx context.Context, name, doc string) error {
	c, err := s.authorize(ctx, "PutIdentityPolicy")
	if err != nil {
		return err
	}
	if err := s.auth.PutIdentityPolicy(ctx, name, doc); err != nil {
		return err
	}
	s.log.Info("identity policy put", "identity", name, "by", c.Principal.Identity)
	return nil
}

// GetIdentityPolicy returns the inline identity policy of identity name.
// Errors: EDENIED, ENOTFOUND (no identity or no policy), EINTERNAL.
func (s *Service) GetIdentityPolicy(ctx context.Context, name string) (string, error) {
	if _, err := s.authorize(ctx, "GetIdentityPolicy"); err != nil {
		return "", err
	}
	return s.auth.GetIdentityPolicy(ctx, name)
}

// DeleteIdentityPolicy removes the inline identity policy of identity name.
// Errors: EDENIED, ENOTFOUND (no identity or no policy), EINTERNAL.
func (s *Service) DeleteIdentityPolicy(ctx context.Context, name string) error {
	c, err := s.authorize(ctx, "DeleteIdentityPolicy")
	if err != nil {
		return err
	}
	if err := s.auth.DeleteIdentityPolicy(ctx, name); err != nil {
		return err
	}
	s.log.Info("identity policy deleted", "identity", name, "by", c.Principal.Identity)
	return nil
}

// ListIdentities lists every identity with its access keys (never their
// secrets), sorted by name. Errors: EDENIED, EINTERNAL.
func (s *Service) ListIdentities(ctx context.Context) ([]rotor.Identity, error) {
	if _, err := s.authorize(ctx, "ListIdentities"); err != nil {
		return nil, err
	}
	return s.auth.ListIdentities(ctx)
}

// DeleteIdentity removes an identity and its access keys; they are refused
// from the next request on. Errors: EDENIED; ESTATE when name is the
// caller's own identity (so an operator cannot lock everyone out by
// mistake); ENOTFOUND; EINTERNAL.
func (s *Service) DeleteIdentity(ctx context.Context, name string) error {
	c, err := s.authorize(ctx, "DeleteIdentity")
	if err != nil {
		return err
	}
	if name == c.Principal.Identity {
		return rotor.Errorf(rotor.ESTATE, "Identity %s cannot delete itself.", name)
	}
	if err := s.auth.DeleteIdentity(ctx, name); err != nil {
		return err
	}
	s.log.Info("identity deleted", "identity", name, "by", c.Principal.Identity)
	return nil
}

// CreateAccessKey creates an active access key for identity and returns it
// with its secret, shown only this once. Errors: EDENIED, ENOTFOUND (no
// such identity), ELIMIT (already rotor.MaxAccessKeysPerIdentity keys),
// EENCRYPT, EINTERNAL.
func (s *Service) CreateAccessKey(ctx context.Context, identity string) (*rotor.AccessKey, error) {
	c, err := s.authorize(ctx, "CreateAccessKey")
	if err != nil {
		return nil, err
	}
	k, err := s.auth.CreateAccessKey(ctx, identity)
	if err != nil {
		return nil, err
	}
	s.log.Info("access key created", "identity", identity, "access_key_id", k.AccessKeyID, "by", c.Principal.Identity)
	return k, nil
}

// UpdateAccessKey sets a key's status to rotor.KeyActive or
// rotor.KeyInactive, effective from the next request. Errors: EDENIED,
// EINVALID (status), ENOTFOUND, EINTERNAL.
func (s *Service) UpdateAccessKey(ctx context.Context, accessKeyID, status string) error {
	c, err := s.authorize(ctx, "UpdateAccessKey")
	if err != nil {
		return err
	}
	if err := s.auth.UpdateAccessKey(ctx, accessKeyID, status); err != nil {
		return err
	}
	s.log.Info("access key updated", "access_key_id", accessKeyID, "status", status, "by", c.Principal.Identity)
	return nil
}

// DeleteAccessKey removes an access key, effective from the next request.
// Errors: EDENIED, ENOTFOUND, EINTERNAL.
func (s *Service) DeleteAccessKey(ctx context.Context, accessKeyID string) error {
	c, err := s.authorize(ctx, "DeleteAccessKey")
	if err != nil {
		return err
	}
	if err := s.auth.DeleteAccessKey(ctx, accessKeyID); err != nil {
		return err
	}
	s.log.Info("access key deleted", "access_key_id", accessKeyID, "by", c.Principal.Identity)
	return nil
}

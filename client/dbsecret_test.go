package client_test

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/client"
)

func TestParseDBSecret(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name  string
		value string
		want  *client.DBSecret // nil: want ErrNotDBSecret
	}{
		{"full postgres secret", `{"engine":"postgres","host":"db","port":5432,"username":"app","password":"pw","dbname":"appdb","ssl":true,"masterarn":"arn:m"}`,
			&client.DBSecret{Engine: "postgres", Host: "db", Port: 5432, Username: "app", Password: "pw", DBName: "appdb", SSL: &yes, MasterARN: "arn:m"}},
		{"port as string", `{"host":"db","port":" 3306 ","username":"u","password":"pw"}`,
			&client.DBSecret{Host: "db", Port: 3306, Username: "u", Password: "pw"}},
		{"no port", `{"host":"db","username":"u","password":"pw"}`, &client.DBSecret{Host: "db", Username: "u", Password: "pw"}},
		{"null port", `{"port":null,"password":"pw"}`, &client.DBSecret{Password: "pw"}},
		{"ssl string TRUE", `{"password":"pw","ssl":"TRUE"}`, &client.DBSecret{Password: "pw", SSL: &yes}},
		{"ssl false", `{"password":"pw","ssl":false}`, &client.DBSecret{Password: "pw", SSL: &no}},
		{"ssl string false", `{"password":"pw","ssl":"False"}`, &client.DBSecret{Password: "pw", SSL: &no}},
		{"ssl invalid means absent", `{"password":"pw","ssl":"yes"}`, &client.DBSecret{Password: "pw"}},
		{"ssl null means absent", `{"password":"pw","ssl":null}`, &client.DBSecret{Password: "pw"}},
		{"password only (Redis default user)", `{"password":"pw"}`, &client.DBSecret{Password: "pw"}},
		{"port not a number", `{"password":"pw","port":"fivefour"}`, nil},
		{"port fraction", `{"password":"pw","port":5432.5}`, nil},
		{"port out of range", `{"password":"pw","port":70000}`, nil},
		{"no password", `{"username":"u","host":"h"}`, nil},
		{"not JSON", `hunter2-is-my-password`, nil},
		{"JSON array", `["hunter2"]`, nil},
		{"password not a string", `{"password":12345678}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.ParseDBSecret(tt.value)
			if tt.want == nil {
				if !errors.Is(err, client.ErrNotDBSecret) || rotor.ErrorCode(err) != rotor.EINVALID {
					t.Fatalf("error = %v, want ErrNotDBSecret", err)
				}
				for _, leak := range []string{"hunter2", "12345678", "fivefour"} {
					if strings.Contains(err.Error(), leak) {
						t.Fatalf("error quotes the value: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v (ssl %v)\nwant %+v (ssl %v)", *got, got.SSL, *tt.want, tt.want.SSL)
			}
		})
	}
}

// Printing or logging a secret never shows its password.
func TestDBSecretRedacted(t *testing.T) {
	s, err := client.ParseDBSecret(`{"engine":"mysql","host":"db","port":3306,"username":"app","password":"p4ssw0rd-xyz"}`)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("secret", "s", s, "v", *s)
	v := client.Value{Name: "n", VersionID: "v1", SecretString: &s.Password}
	slog.New(slog.NewTextHandler(&logged, nil)).Info("value", "v", v)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", *s, *s, *s, s), fmt.Sprint(v), fmt.Sprintf("%+v %#v", v, v), logged.String()} {
		if strings.Contains(out, "p4ssw0rd") {
			t.Fatalf("password shown: %s", out)
		}
	}
	if !strings.Contains(fmt.Sprint(s), `user "app" at db:3306`) {
		t.Fatalf("String() = %s, want user and address", s)
	}
}

package awsapi

import "testing"

func TestPrintableNameMatchesPrintableTarget(t *testing.T) {
	for _, s := range []string{"", "GetSecretValue", "secretsmanager.GetSecretValue", "a b", "x\n", "é", "rotor.List-Keys_2",
		string(make([]byte, 128)), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"} {
		if got, want := printableName(s), printableTarget.MatchString(s); got != want {
			t.Errorf("printableName(%q) = %v, printableTarget says %v", s, got, want)
		}
	}
}

// TestAuditPlansDropSensitiveMembers pins the members the model's
// sensitive marking keeps out of requestParameters.
func TestAuditPlansDropSensitiveMembers(t *testing.T) {
	dropped := map[string][]string{}
	for s, plan := range auditPlans {
		for i, m := range plan {
			if !m.keep {
				dropped[s.Name] = append(dropped[s.Name], s.Members[i].Name)
			}
		}
	}
	want := map[string]map[string]bool{
		"CreateSecretRequest":   {"SecretString": true, "SecretBinary": true},
		"PutSecretValueRequest": {"SecretString": true, "SecretBinary": true, "RotationToken": true},
		"UpdateSecretRequest":   {"SecretString": true, "SecretBinary": true},
	}
	for shape, members := range want {
		for m := range members {
			found := false
			for _, d := range dropped[shape] {
				found = found || d == m
			}
			if !found {
				t.Errorf("%s.%s is kept in requestParameters", shape, m)
			}
		}
	}
	for shape, ds := range dropped {
		for _, d := range ds {
			if !want[shape][d] {
				t.Errorf("%s.%s is dropped, but the model does not mark it sensitive", shape, d)
			}
		}
	}
}

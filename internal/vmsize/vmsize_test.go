// Tests for package vmsize check what a user relies on: the numbers of
// common sizes, case-insensitive lookup, GPU counts and helpful errors.
package vmsize

import (
	"errors"
	"strings"
	"testing"
)

func TestLookupKnownSizes(t *testing.T) {
	tests := map[string]struct {
		name string
		want Size
	}{
		"the default D3_v2 has 4 cores and 14 GiB": {
			name: DefaultName,
			want: Size{Name: "Standard_D3_v2", Cores: 4, MemoryMB: 14 * 1024},
		},
		"lookup ignores case and returns the canonical name": {
			name: "standard_d3_V2",
			want: Size{Name: "Standard_D3_v2", Cores: 4, MemoryMB: 14 * 1024},
		},
		"a half-GiB size keeps its half": {
			name: "Standard_DS1_v2",
			want: Size{Name: "Standard_DS1_v2", Cores: 1, MemoryMB: 3584},
		},
		"NC6 has one K80": {
			name: "Standard_NC6",
			want: Size{Name: "Standard_NC6", Cores: 6, MemoryMB: 56 * 1024, GPUs: 1, GPUModel: "K80"},
		},
		"NC24 has four K80s": {
			name: "standard_nc24",
			want: Size{Name: "Standard_NC24", Cores: 24, MemoryMB: 224 * 1024, GPUs: 4, GPUModel: "K80"},
		},
		"NC12s_v3 has two V100s": {
			name: "Standard_NC12s_v3",
			want: Size{Name: "Standard_NC12s_v3", Cores: 12, MemoryMB: 224 * 1024, GPUs: 2, GPUModel: "V100"},
		},
		"NC64as_T4_v3 has four T4s": {
			name: "Standard_NC64as_T4_v3",
			want: Size{Name: "Standard_NC64as_T4_v3", Cores: 64, MemoryMB: 440 * 1024, GPUs: 4, GPUModel: "T4"},
		},
		"NV6 has one M60": {
			name: "Standard_NV6",
			want: Size{Name: "Standard_NV6", Cores: 6, MemoryMB: 56 * 1024, GPUs: 1, GPUModel: "M60"},
		},
		"a CPU size has no GPUs": {
			name: "Standard_F72s_v2",
			want: Size{Name: "Standard_F72s_v2", Cores: 72, MemoryMB: 144 * 1024},
		},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			got, err := Azure().Lookup(tc.name)
			if err != nil {
				t.Fatalf("Lookup(%q): %v", tc.name, err)
			}
			if got != tc.want {
				t.Errorf("Lookup(%q) = %+v, want %+v", tc.name, got, tc.want)
			}
		})
	}
}

func TestLookupUnknownSizes(t *testing.T) {
	tests := map[string]struct {
		name    string
		mention []string // substrings the error message must contain
	}{
		"a near miss suggests the intended size": {
			name:    "Standard_D3_v9",
			mention: []string{`unknown VM size "Standard_D3_v9"`, "did you mean", "Standard_D3_v2"},
		},
		"a name without the Standard_ prefix suggests the full name": {
			name:    "NC6s_v3",
			mention: []string{"did you mean Standard_NC6s_v3"},
		},
		"garbage still lists some known sizes": {
			name:    "banana",
			mention: []string{`unknown VM size "banana"`, "known sizes include Standard_D3_v2", "Standard_NC", "in all)"},
		},
		"an empty name lists some known sizes": {
			name:    "",
			mention: []string{"known sizes include"},
		},
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			_, err := Azure().Lookup(tc.name)
			if !errors.Is(err, ErrUnknown) {
				t.Fatalf("Lookup(%q) error = %v, want one wrapping ErrUnknown", tc.name, err)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Lookup(%q) error = %q, want it to mention %q", tc.name, err, m)
				}
			}
		})
	}
}

func TestCatalog(t *testing.T) {
	tests := map[string]func(t *testing.T){
		"the default size is in the Azure catalog": func(t *testing.T) {
			if _, err := Azure().Lookup(DefaultName); err != nil {
				t.Fatal(err)
			}
		},
		"All lists every size once, sorted by name": func(t *testing.T) {
			all := Azure().All()
			if len(all) != 63 {
				t.Errorf("len(All()) = %d, want 63", len(all))
			}
			for i := 1; i < len(all); i++ {
				if all[i-1].Name >= all[i].Name {
					t.Errorf("All() out of order or duplicated at %q, %q", all[i-1].Name, all[i].Name)
				}
			}
		},
		"New builds a catalog of custom sizes": func(t *testing.T) {
			host := Size{Name: "Local_Host", Cores: 2, MemoryMB: 4096}
			c := New(host)
			if got, err := c.Lookup("local_host"); err != nil || got != host {
				t.Errorf("Lookup = %+v, %v; want %+v", got, err, host)
			}
			if _, err := c.Lookup(DefaultName); !errors.Is(err, ErrUnknown) {
				t.Errorf("custom catalog knows %s: err = %v", DefaultName, err)
			}
		},
		"an empty catalog says so": func(t *testing.T) {
			_, err := New().Lookup("x")
			if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "empty") {
				t.Errorf("err = %v", err)
			}
		},
	}
	for desc, test := range tests {
		t.Run(desc, test)
	}
}

// Package vmsize is a catalog of the Azure VM sizes users name for
// Kubernetes node pools, with their cores, memory and GPUs.
//
// Names are looked up case-insensitively; an unknown name gets an error
// that suggests the closest known sizes.
package vmsize

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Size is one VM size.
type Size struct {
	Name     string
	Cores    int
	MemoryMB int64
	GPUs     int
	GPUModel string // e.g. "K80", "V100", "T4", or "" without GPUs
}

// DefaultName is the default VM size for clusters.
const DefaultName = "Standard_D3_v2"

// ErrUnknown is wrapped by the error Lookup returns for an unknown name.
var ErrUnknown = errors.New("unknown VM size")

// Catalog is a set of sizes, looked up case-insensitively.
// It is immutable once built and safe for concurrent use.
type Catalog struct {
	byKey  map[string]Size // lower-cased name -> size
	sorted []Size          // by Name
}

// New builds a catalog from sizes (used for the host's own size by the
// local provider). A later size replaces an earlier one of the same name.
func New(sizes ...Size) *Catalog {
	c := &Catalog{byKey: make(map[string]Size, len(sizes))}
	for _, s := range sizes {
		c.byKey[strings.ToLower(s.Name)] = s
	}
	for _, s := range c.byKey {
		c.sorted = append(c.sorted, s)
	}
	sort.Slice(c.sorted, func(i, j int) bool { return c.sorted[i].Name < c.sorted[j].Name })
	return c
}

// Azure returns the built-in catalog of Azure sizes.
func Azure() *Catalog { return azure() }

var azure = sync.OnceValue(func() *Catalog { return New(azureSizes...) })

// Lookup returns the size by name, case-insensitively; the returned Size
// carries the canonical Name. An unknown name yields an error wrapping
// ErrUnknown that suggests close matches or lists some known sizes.
func (c *Catalog) Lookup(name string) (Size, error) {
	if s, ok := c.byKey[strings.ToLower(strings.TrimSpace(name))]; ok {
		return s, nil
	}
	if near := c.suggest(name, 3); len(near) > 0 {
		return Size{}, fmt.Errorf("%w %q; did you mean %s?", ErrUnknown, name, strings.Join(near, ", "))
	}
	if len(c.sorted) == 0 {
		return Size{}, fmt.Errorf("%w %q; the catalog is empty", ErrUnknown, name)
	}
	examples := c.examples(5)
	known := strings.Join(examples, ", ")
	if len(examples) < len(c.sorted) {
		known += ", ..."
	}
	return Size{}, fmt.Errorf("%w %q; known sizes include %s (%d in all)", ErrUnknown, name, known, len(c.sorted))
}

// All returns all sizes sorted by name.
func (c *Catalog) All() []Size {
	return append([]Size(nil), c.sorted...)
}

// azureSizes is the built-in Azure catalog. Memory is GiB*1024 MB, as
// Azure documents it per size.
var azureSizes = []Size{
	// Dv2 and DSv2 (general purpose; D11-D15 are memory optimized).
	vm("Standard_D1_v2", 1, 3.5), vm("Standard_DS1_v2", 1, 3.5),
	vm("Standard_D2_v2", 2, 7), vm("Standard_DS2_v2", 2, 7),
	vm("Standard_D3_v2", 4, 14), vm("Standard_DS3_v2", 4, 14),
	vm("Standard_D4_v2", 8, 28), vm("Standard_DS4_v2", 8, 28),
	vm("Standard_D5_v2", 16, 56), vm("Standard_DS5_v2", 16, 56),
	vm("Standard_D11_v2", 2, 14), vm("Standard_DS11_v2", 2, 14),
	vm("Standard_D12_v2", 4, 28), vm("Standard_DS12_v2", 4, 28),
	vm("Standard_D13_v2", 8, 56), vm("Standard_DS13_v2", 8, 56),
	vm("Standard_D14_v2", 16, 112), vm("Standard_DS14_v2", 16, 112),
	vm("Standard_D15_v2", 20, 140), vm("Standard_DS15_v2", 20, 140),

	// Dv3 and Dsv3.
	vm("Standard_D2_v3", 2, 8), vm("Standard_D2s_v3", 2, 8),
	vm("Standard_D4_v3", 4, 16), vm("Standard_D4s_v3", 4, 16),
	vm("Standard_D8_v3", 8, 32), vm("Standard_D8s_v3", 8, 32),
	vm("Standard_D16_v3", 16, 64), vm("Standard_D16s_v3", 16, 64),
	vm("Standard_D32_v3", 32, 128), vm("Standard_D32s_v3", 32, 128),
	vm("Standard_D48_v3", 48, 192), vm("Standard_D48s_v3", 48, 192),
	vm("Standard_D64_v3", 64, 256), vm("Standard_D64s_v3", 64, 256),

	// F and Fs (compute optimized).
	vm("Standard_F1", 1, 2), vm("Standard_F1s", 1, 2),
	vm("Standard_F2", 2, 4), vm("Standard_F2s", 2, 4),
	vm("Standard_F4", 4, 8), vm("Standard_F4s", 4, 8),
	vm("Standard_F8", 8, 16), vm("Standard_F8s", 8, 16),
	vm("Standard_F16", 16, 32), vm("Standard_F16s", 16, 32),

	// Fsv2.
	vm("Standard_F2s_v2", 2, 4),
	vm("Standard_F4s_v2", 4, 8),
	vm("Standard_F8s_v2", 8, 16),
	vm("Standard_F16s_v2", 16, 32),
	vm("Standard_F32s_v2", 32, 64),
	vm("Standard_F48s_v2", 48, 96),
	vm("Standard_F64s_v2", 64, 128),
	vm("Standard_F72s_v2", 72, 144),

	// GPU: NC (K80), NCv3 (V100), NCasT4_v3 (T4), NV (M60).
	gpu("Standard_NC6", 6, 56, 1, "K80"),
	gpu("Standard_NC12", 12, 112, 2, "K80"),
	gpu("Standard_NC24", 24, 224, 4, "K80"),
	gpu("Standard_NC6s_v3", 6, 112, 1, "V100"),
	gpu("Standard_NC12s_v3", 12, 224, 2, "V100"),
	gpu("Standard_NC24s_v3", 24, 448, 4, "V100"),
	gpu("Standard_NC4as_T4_v3", 4, 28, 1, "T4"),
	gpu("Standard_NC8as_T4_v3", 8, 56, 1, "T4"),
	gpu("Standard_NC16as_T4_v3", 16, 110, 1, "T4"),
	gpu("Standard_NC64as_T4_v3", 64, 440, 4, "T4"),
	gpu("Standard_NV6", 6, 56, 1, "M60"),
}

func vm(name string, cores int, gib float64) Size {
	return Size{Name: name, Cores: cores, MemoryMB: int64(gib * 1024)}
}

func gpu(name string, cores int, gib float64, gpus int, model string) Size {
	s := vm(name, cores, gib)
	s.GPUs, s.GPUModel = gpus, model
	return s
}

// suggest returns up to n known names within a small edit distance of
// name, closest first, then by name. A name typed without the
// "Standard_" prefix is compared against the rest of each known name too.
func (c *Catalog) suggest(name string, n int) []string {
	q := strings.ToLower(strings.TrimSpace(name))
	maxDist := min(3, len(q)/2)
	type match struct {
		name string
		dist int
	}
	var ms []match
	for key, s := range c.byKey {
		d := min(distance(q, key), distance(q, strings.TrimPrefix(key, "standard_")))
		if d <= maxDist {
			ms = append(ms, match{s.Name, d})
		}
	}
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].dist != ms[j].dist {
			return ms[i].dist < ms[j].dist
		}
		return ms[i].name < ms[j].name
	})
	var out []string
	for _, m := range ms[:min(n, len(ms))] {
		out = append(out, m.name)
	}
	return out
}

// examples returns up to n known names, one per family: the default
// first, then the smallest size of each other family.
func (c *Catalog) examples(n int) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s Size) {
		if f := family(s.Name); !seen[f] && len(out) < n {
			seen[f] = true
			out = append(out, s.Name)
		}
	}
	if s, ok := c.byKey[strings.ToLower(DefaultName)]; ok {
		add(s)
	}
	bySize := c.All() // by name, so ties below stay deterministic
	sort.SliceStable(bySize, func(i, j int) bool { return bySize[i].Cores < bySize[j].Cores })
	for _, s := range bySize {
		add(s)
	}
	return out
}

// family is a size's series: the letters of its name before the first
// digit, without the "Standard_" prefix ("Standard_NC6s_v3" -> "nc").
func family(name string) string {
	f := strings.TrimPrefix(strings.ToLower(name), "standard_")
	if i := strings.IndexAny(f, "0123456789"); i >= 0 {
		f = f[:i]
	}
	return f
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

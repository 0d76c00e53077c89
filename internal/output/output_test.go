package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type agentPool struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type managedCluster struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	Location          string            `json:"location"`
	KubernetesVersion string            `json:"kubernetesVersion"`
	EnableRBAC        bool              `json:"enableRBAC"`
	Fqdn              *string           `json:"fqdn"`
	AgentPoolProfiles []agentPool       `json:"agentPoolProfiles"`
	Tags              map[string]string `json:"tags"`
}

const clusterID = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/demo"

var cluster = managedCluster{
	ID: clusterID, Name: "demo", Location: "westeurope", KubernetesVersion: "1.37.2", EnableRBAC: true,
	AgentPoolProfiles: []agentPool{{Name: "nodepool1", Count: 3}},
	Tags:              map[string]string{"env": "dev"},
}

const versionsJSON = `{"orchestrators":[{"orchestratorVersion":"1.37.2","default":true,"isPreview":false,"upgrades":null},{"orchestratorVersion":"1.36.5","default":false,"upgrades":[{"orchestratorVersion":"1.37.2"}]}]}`

// versions is raw JSON so that its key order reaches Print unchanged.
var versions = json.RawMessage(versionsJSON)

var upgradesTable = &Table{Columns: []Column{
	{Header: "KubernetesVersion", Path: "orchestratorVersion"},
	{Header: "Default", Path: "default"},
	{Header: "Upgrades", Path: "upgrades[].orchestratorVersion", Transform: func(v any) string {
		l, _ := v.([]any)
		if len(l) == 0 {
			return "None available"
		}
		s := make([]string, len(l))
		for i, e := range l {
			s[i], _ = e.(string)
		}
		return strings.Join(s, ", ")
	}},
}}

func TestPrint(t *testing.T) {
	tests := map[string]struct {
		v    any
		opts Options
		want string
	}{
		"a json query for a string prints it quoted": {
			v: cluster, opts: Options{Format: FormatJSON, Query: "id"}, want: `"` + clusterID + `"` + "\n",
		},
		"a tsv query for a string prints it bare": {
			v: cluster, opts: Options{Format: FormatTSV, Query: "id"}, want: clusterID + "\n",
		},
		"the default format is json indented by two spaces in struct key order": {
			v: cluster, opts: Options{Query: "{name: name, pools: agentPoolProfiles}"},
			want: "{\n  \"name\": \"demo\",\n  \"pools\": [\n    {\n      \"name\": \"nodepool1\",\n      \"count\": 3\n    }\n  ]\n}\n",
		},
		"json does not escape html characters": {
			v: map[string]string{"a": "<b>&"}, opts: Options{Format: FormatJSONC}, want: "{\n  \"a\": \"<b>&\"\n}\n",
		},
		"tsv prints an object's values in struct order with nested values as az": {
			v:    cluster,
			opts: Options{Format: FormatTSV},
			want: clusterID + "\tdemo\twesteurope\t1.37.2\tTrue\t\t1\t\n",
		},
		"tsv prints a list one item per line": {
			v: versions, opts: Options{Format: FormatTSV, Query: "orchestrators[].orchestratorVersion"},
			want: "1.37.2\n1.36.5\n",
		},
		"a table of a query for a scalar list has the header Result": {
			v: versions, opts: Options{Format: FormatTable, Query: "orchestrators[?default == `true`].orchestratorVersion"},
			want: "Result\n--------\n1.37.2\n",
		},
		"a custom table renders its columns and transforms": {
			v:    json.RawMessage(versionsJSON[len(`{"orchestrators":`) : len(versionsJSON)-1]),
			opts: Options{Format: FormatTable, Table: upgradesTable},
			want: "KubernetesVersion    Default    Upgrades\n" +
				"-------------------  ---------  --------------\n" +
				"1.37.2               True       None available\n" +
				"1.36.5               False      1.37.2\n",
		},
		"a generic table of objects keeps only scalar columns in query order": {
			v: versions, opts: Options{Format: FormatTable, Query: "orchestrators"},
			want: "OrchestratorVersion    Default    IsPreview\n" +
				"---------------------  ---------  -----------\n" +
				"1.37.2                 True       False\n" +
				"1.36.5                 False\n",
		},
		"a generic table of one object without a query has sorted columns minus id": {
			v: cluster, opts: Options{Format: FormatTable},
			want: "EnableRBAC    KubernetesVersion    Location    Name\n" +
				"------------  -------------------  ----------  ------\n" +
				"True          1.37.2               westeurope  demo\n",
		},
		"a custom table is not used when a query is given": {
			v: cluster, opts: Options{Format: FormatTable, Query: "name", Table: upgradesTable},
			want: "Result\n--------\ndemo\n",
		},
		"yaml is printed with sigs.k8s.io/yaml": {
			v: versions, opts: Options{Format: FormatYAML, Query: "orchestrators[1]"},
			want: "default: false\norchestratorVersion: 1.36.5\nupgrades:\n- orchestratorVersion: 1.37.2\n",
		},
		"none prints nothing": {
			v: cluster, opts: Options{Format: FormatNone},
		},
		"a null query result prints nothing": {
			v: cluster, opts: Options{Query: "missing"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Print(&b, tc.v, tc.opts); err != nil {
				t.Fatalf("Print: %v", err)
			}
			if got := b.String(); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := map[string]struct {
		opts Options
		want []string
	}{
		"a bad format lists the valid ones": {
			opts: Options{Format: "xml"},
			want: []string{`"xml"`, "json, jsonc, yaml, table, tsv, none"},
		},
		"a bad query names the expression": {
			opts: Options{Query: "orchestrators[?"},
			want: []string{`"orchestrators[?"`},
		},
		"a bad table path names the column": {
			opts: Options{Format: FormatTable, Table: &Table{Columns: []Column{{Header: "Bad", Path: "a[?"}}}},
			want: []string{`"Bad"`, `"a[?"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			err := Print(&b, cluster, tc.opts)
			if err == nil {
				t.Fatalf("Print succeeded with %q", b.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if b.Len() != 0 {
				t.Errorf("wrote %q on error", b.String())
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	tests := map[string]struct {
		in   string
		want Format
	}{
		"an empty format is json": {"", FormatJSON},
		"formats are case blind":  {"TSV", FormatTSV},
		"jsonc is accepted":       {"jsonc", FormatJSONC},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseFormat(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ParseFormat(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

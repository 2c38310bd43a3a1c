package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestExperimentEndToEnd is the experiment issue's acceptance test on a real `ward serve`:
// define with `ward experiment create`, assign users over HTTP, send events, and read a
// significant result where the treatment is better and none where it is not.
func TestExperimentEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	w := startWard(t, filepath.Join(dir, "data"))
	def := filepath.Join(dir, "exp.yml")
	writeFile(t, def, `experiments:
  - name: better
    branches: [{name: control, weight: 50}, {name: green, weight: 50}]
    rollout: 100
    metrics: [{name: order}]
  - name: same
    branches: [{name: control, weight: 50}, {name: blue, weight: 50}]
    rollout: 100
    metrics: [{name: order}]
`)
	api := "http://" + w.http
	out := runWard(t, "experiment", "--url", api, "create", def)
	if !strings.Contains(out, "created better") || !strings.Contains(out, "created same") {
		t.Fatalf("create: %s", out)
	}

	rng := rand.New(rand.NewPCG(7, 11))
	const users = 4000
	counts := map[string]int{}
	for _, exp := range []string{"better", "same"} {
		var events []map[string]any
		for i := 0; i < users; i++ {
			uid := fmt.Sprintf("u%d", i)
			var a struct {
				Data struct {
					Branch   string `json:"branch"`
					Recorded bool   `json:"recorded"`
				} `json:"data"`
			}
			getJSON(t, fmt.Sprintf("%s/api/v1/experiments/%s/assign?uid=%s", api, exp, uid), &a)
			if !a.Data.Recorded {
				t.Fatalf("%s %s not recorded", exp, uid)
			}
			counts[exp+"/"+a.Data.Branch]++
			p := 0.10
			if exp == "better" && a.Data.Branch == "green" {
				p = 0.16
			}
			if rng.Float64() < p {
				events = append(events, map[string]any{"uid": uid, "metric": "order", "value": 1})
			}
		}
		body, _ := json.Marshal(map[string]any{"events": events})
		resp, err := http.Post(api+"/api/v1/events", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("events: %s", resp.Status)
		}
	}
	// A 50/50 split within a few percent on 4,000 users.
	if g := counts["better/green"]; g < users*45/100 || g > users*55/100 {
		t.Errorf("better: green got %d of %d", g, users)
	}

	res := func(name string) (sig bool, dir string, srm bool) {
		var r struct {
			Data struct {
				SRM     struct{ Mismatch bool } `json:"srm"`
				Metrics []struct {
					Metric   string `json:"metric"`
					Branches []struct {
						Branch    string `json:"branch"`
						VsControl *struct {
							Significant bool   `json:"significant"`
							Direction   string `json:"direction"`
						} `json:"vs_control"`
					} `json:"branches"`
				} `json:"metrics"`
			} `json:"data"`
		}
		getJSON(t, api+"/api/v1/experiments/"+name+"/results", &r)
		for _, m := range r.Data.Metrics {
			for _, b := range m.Branches {
				if b.VsControl != nil {
					return b.VsControl.Significant, b.VsControl.Direction, r.Data.SRM.Mismatch
				}
			}
		}
		t.Fatalf("%s: no comparison in results", name)
		return
	}
	if sig, dir, srm := res("better"); !sig || dir != "increase" || srm {
		t.Errorf("better: significant=%v direction=%q srm=%v, want a significant increase", sig, dir, srm)
	}
	if sig, _, _ := res("same"); sig {
		t.Errorf("same: significant, want no significance")
	}
	out = runWard(t, "experiment", "--url", api, "results", "better")
	if !strings.Contains(out, "green") {
		t.Errorf("results text:\n%s", out)
	}

	// Changing the rollout with the CLI changes what the API returns; closing gives
	// everyone the winner.
	runWard(t, "experiment", "--url", api, "set", "same", "--rollout", "0")
	var a struct {
		Data struct {
			Branch   string `json:"branch"`
			Recorded bool   `json:"recorded"`
		} `json:"data"`
	}
	getJSON(t, api+"/api/v1/experiments/same/assign?uid=newcomer", &a)
	if a.Data.Recorded || a.Data.Branch != "control" {
		t.Errorf("rollout 0: newcomer got %+v", a.Data)
	}
	runWard(t, "experiment", "--url", api, "close", "better", "green")
	getJSON(t, api+"/api/v1/experiments/better/assign?uid=u1", &a)
	if a.Data.Branch != "green" || a.Data.Recorded {
		t.Errorf("closed on green: u1 got %+v", a.Data)
	}
	w.stop()
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

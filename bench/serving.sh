#!/usr/bin/env bash
# Measures kubeml's model serving on loopback, in one run, with the
# Fashion-MNIST MLP fixture (784 floats in, 10 out, batch 1):
#   - `kubeml serve-model`: Open Inference Protocol v2 JSON and Azure /score;
#   - a minimal onnxruntime-node 1.30 HTTP server on the same model (the
#     baseline; ratio kubeml/ort, target >= 1.5x);
#   - the real `kubeml router` binary in front of serve-model, its routing
#     table served by a stand-in Kubernetes API (bench/fakekube), and nginx
#     as a keep-alive reverse proxy, both against serve-model direct
#     (targets: router >= 0.85x direct req/s and <= +0.3 ms p50), and a
#     plain httputil.ReverseProxy (bench/goproxy) as the floor of a
#     net/http-based proxy;
#   - the in-process router benchmark (BenchmarkRouterOverhead);
#   - serve-model's peak RSS under the load (VmHWM, target < 60 MB).
# Every server (serve-model, node, router, nginx) is pinned to SERVER_CPU
# (default 1), the load generator (wrk) to LOAD_CPU (default 0): a proxy
# in front of serve-model shares serve-model's core, so its throughput
# ratio is its CPU cost per request (nginx keeps about 0.7x this way, as
# the issue's reference measured). Each round then moves the router and
# nginx beside the load generator (the _apart runs), as in a cluster where
# the router has CPU of its own, and measures them again. In each round the
# proxies run between two direct runs and are compared with their mean,
# and onnxruntime-node with a direct run right after it; each run reports
# the share of CPU time the hypervisor stole, which explains most of the
# noise between rounds on a shared VM.
#
# Needs Go and, for the baselines, node + npm (onnxruntime-node comes from
# `npm pack`, cached under ~/.cache/kubeml/bench) and nginx (installed with
# apt-get when run as root; skipped otherwise). No cluster, no root needed.
# Exits non-zero on a setup failure, zero when targets are merely missed.
#
# Environment: DURATION (10s), WARMUP (3s), CONNS (16), SERVER_CPU (1),
# LOAD_CPU (0), PROXY_CPU (SERVER_CPU: where the router, goproxy and nginx
# run; LOAD_CPU puts them beside the load generator instead), ROUNDS (1:
# how many times to repeat the load runs), LOADGEN (wrk, installed with
# apt-get when missing and root; "go" for bench/loadgen),
# BENCHTIME (3000x, for the in-process benchmark), PROFILE (empty; a file
# name writes a CPU profile of serve-model's handler under the OIP load,
# taken with bench/servingprof, to read with `go tool pprof`).
set -euo pipefail
export LC_ALL=C # times, awk and wrk's figures with '.' decimals
cd "$(dirname "$0")/.."
repo=$PWD

DURATION=${DURATION:-10s}
LOADGEN=${LOADGEN:-}
WARMUP=${WARMUP:-3s}
CONNS=${CONNS:-16}
SERVER_CPU=${SERVER_CPU:-1}
PROXY_CPU=${PROXY_CPU:-$SERVER_CPU}
LOAD_CPU=${LOAD_CPU:-0}
ROUNDS=${ROUNDS:-1}
BENCHTIME=${BENCHTIME:-3000x}
PROFILE=${PROFILE:-}
ORT_VERSION=1.30.0
cache=${KUBEML_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeml/bench}
key=bench-key-0123456789

die() { echo "serving.sh: setup failed: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }

tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

command -v taskset >/dev/null || die "taskset (util-linux) is missing"
[ "$(nproc)" -ge 2 ] || note "fewer than 2 cores: the pinning below overlaps"

# --- build ---------------------------------------------------------------
note "building kubeml and the bench tools"
# kubeml-node: the lean binary of what runs in a cluster's pods, as a
# local cluster's images hold it.
CGO_ENABLED=0 go build -o "$tmp/kubeml" ./cmd/kubeml-node || die "go build ./cmd/kubeml-node"
go build -o "$tmp/loadgen" ./bench/loadgen || die "go build ./bench/loadgen"
go build -o "$tmp/fakekube" ./bench/fakekube || die "go build ./bench/fakekube"
go build -o "$tmp/fashionfixture" ./bench/fashionfixture || die "go build ./bench/fashionfixture"
go build -o "$tmp/goproxy" ./bench/goproxy || die "go build ./bench/goproxy"
if [ -n "$PROFILE" ]; then
	go build -o "$tmp/servingprof" ./bench/servingprof || die "go build ./bench/servingprof"
fi

# --- fixture -------------------------------------------------------------
note "making the fashion MLP fixture (trains once, ~15 s; reused after)"
model=$("$tmp/fashionfixture" -out "$tmp") || die "fashion fixture"
[ -s "$model" ] || die "no model at $model"

# --- onnxruntime-node ----------------------------------------------------
ortdir=$cache/ort-$ORT_VERSION/node_modules
have_node=1
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	note "node/npm missing: the onnxruntime-node baseline is skipped"
	have_node=0
elif [ ! -f "$ortdir/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1" ] || [ ! -f "$ortdir/onnxruntime-common/package.json" ]; then
	note "fetching onnxruntime-node@$ORT_VERSION with npm pack (a plain npm install's postinstall needs an unreachable host)"
	dl=$tmp/npm
	mkdir -p "$dl"
	(cd "$dl" && npm pack --silent "onnxruntime-node@$ORT_VERSION" "onnxruntime-common@$ORT_VERSION" >/dev/null) || die "npm pack onnxruntime-node@$ORT_VERSION"
	stage=$cache/.ort-$$
	rm -rf "$stage" && mkdir -p "$stage/node_modules/onnxruntime-node" "$stage/node_modules/onnxruntime-common"
	tar xzf "$dl/onnxruntime-node-$ORT_VERSION.tgz" -C "$stage/node_modules/onnxruntime-node" --strip-components=1 \
		package/package.json package/dist package/bin/napi-v6/linux/x64 || die "extracting onnxruntime-node"
	tar xzf "$dl/onnxruntime-common-$ORT_VERSION.tgz" -C "$stage/node_modules/onnxruntime-common" --strip-components=1 \
		package/package.json package/dist || die "extracting onnxruntime-common"
	rm -rf "$cache/ort-$ORT_VERSION" && mv "$stage" "$cache/ort-$ORT_VERSION"
fi

# --- load generator --------------------------------------------------------
# wrk (C, the usual HTTP benchmark tool) costs the load generator's core
# about a fifth of what the Go loadgen does, so that a proxy placed beside
# it is measured, not the generator. LOADGEN=go uses bench/loadgen.
if [ -z "$LOADGEN" ]; then
	LOADGEN=wrk
	if ! command -v wrk >/dev/null; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			note "installing wrk (apt-get)"
			DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >"$tmp/apt-wrk.log" 2>&1 || die "apt-get install wrk (see the log: $(tail -3 "$tmp/apt-wrk.log"))"
		else
			note "wrk missing and not root: using the Go load generator"
			LOADGEN=go
		fi
	fi
fi

# --- nginx ---------------------------------------------------------------
have_nginx=1
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		note "installing nginx (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y nginx >"$tmp/apt.log" 2>&1 || die "apt-get install nginx (see the log: $(tail -3 "$tmp/apt.log"))"
	else
		note "nginx missing and not root: the nginx comparison is skipped"
		have_nginx=0
	fi
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

# --- helpers -------------------------------------------------------------
used_ports=" "
free_port() { # free_port VAR: sets VAR to a free loopback port
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		case $used_ports in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			used_ports="$used_ports$p "
			printf -v "$1" '%s' "$p"
			return
		fi
	done
}
# wait_http URL NAME LOG: until URL answers 2xx (30 s).
wait_http() {
	local i
	for i in $(seq 300); do
		if curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "--- $2 log:" >&2
	tail -20 "$3" >&2 || true
	die "$2 did not come up ($1)"
}
# check POST URL BODY NAME [headers...]: one request must answer 200 with
# the fixture's class as the largest probability (a wrong setup must not
# be benchmarked).
want_class=$(cat "$tmp/expected.txt")
check() {
	local url=$1 body=$2 name=$3
	shift 3
	local out
	out=$(curl -fsS --max-time 5 -H 'Content-Type: application/json' "$@" --data-binary "@$body" "$url") || die "$name: $url failed"
	# The 10 probabilities are the last JSON array of numbers in the reply.
	local cls
	cls=$(printf '%s' "$out" | tr -d ' \n' | grep -oE '\[[-0-9.eE+,]+\]' | tail -1 | tr -d '[]' | tr ',' '\n' |
		awk 'BEGIN{m=-1;i=-1} {if ($1+0 > m) {m=$1+0; c=i+1}; i++} END{print c}')
	[ "$cls" = "$want_class" ] || die "$name: predicted class $cls, want $want_class (reply: ${out:0:200})"
}
results=$tmp/results.txt
: >"$results"
# load NAME URL BODY [headers...]: one measured run, pinned to LOAD_CPU;
# cpu_pids (name=pid,...) names the processes whose CPU time per request
# it reports.
cpu_pids=""
load() {
	if [ "$LOADGEN" = wrk ]; then
		wrk_load "$@"
		return
	fi
	local name=$1 url=$2 body=$3
	shift 3
	local args=() h
	for h in "$@"; do args+=(-H "$h"); done
	taskset -c "$LOAD_CPU" "$tmp/loadgen" -name "$name" -url "$url" -body "$body" -c "$CONNS" -d "$DURATION" -warmup "$WARMUP" -pids "$cpu_pids" "${args[@]}" \
		>"$tmp/load-$name.txt" 2>&1 || { cat "$tmp/load-$name.txt" >&2; die "loadgen $name failed"; }
	grep -v '^RESULT ' "$tmp/load-$name.txt" >&2
	grep '^RESULT ' "$tmp/load-$name.txt" >>"$results"
}
# cpu_of PID: user+system CPU seconds of a process.
cpu_of() { awk '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / 100}' "/proc/$1/stat" 2>/dev/null || echo -1e9; }
# to_ms VALUE: wrk's latency ("812.00us", "1.20ms", "1.01s") in ms.
to_ms() { awk -v v="$1" 'BEGIN{n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n}'; }
# secs "XmY.YYYs XmY.YYYs": the sum of the two times of a `times` line.
secs() { echo "$1" | awk '{n = 0; for (i = 1; i <= 2; i++) {split($i, a, "m"); n += a[1] * 60 + a[2]}; printf "%.3f", n}'; }
# wrk_load NAME URL BODY [HEADER...]: like the Go load generator, with
# wrk: a warm-up run, then the measured one with the CPU time of the
# processes in $cpu_pids and of wrk itself (children CPU, from times).
wrk_load() {
	local name=$1 url=$2 body=$3
	shift 3
	local lua=$tmp/wrk-$name.lua h
	{
		echo 'wrk.method = "POST"'
		echo "local f = assert(io.open(\"$body\", \"rb\")); wrk.body = f:read(\"*a\"); f:close()"
		echo 'wrk.headers["Content-Type"] = "application/json"'
		for h in "$@"; do echo "wrk.headers[\"${h%%:*}\"] = \"${h#*: }\""; done
	} >"$lua"
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$WARMUP" -s "$lua" "$url" >/dev/null 2>&1 || die "wrk warm-up $name failed"
	local kv p before=() t0 t1 out
	for kv in ${cpu_pids//,/ }; do before+=("$(cpu_of "${kv#*=}")"); done
	times >"$tmp/times" # in this shell: $(times) would time a subshell's children
	t0=$(tail -1 "$tmp/times")
	local st0 st1
	st0=$(head -1 /proc/stat)
	out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s "$lua" "$url" 2>&1) || { echo "$out" >&2; die "wrk $name failed"; }
	times >"$tmp/times"
	t1=$(tail -1 "$tmp/times")
	st1=$(head -1 /proc/stat)
	local reqs rps errs non2xx sock p50 p90 p99 mean cpu="" i=0 line
	reqs=$(echo "$out" | awk '/requests in/ {print $1}')
	rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
	sock=$(echo "$out" | awk '/Socket errors/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}')
	errs=$(( ${non2xx:-0} + ${sock:-0} ))
	p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
	p90=$(to_ms "$(echo "$out" | awk '$1 == "90%" {print $2}')")
	p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
	mean=$(to_ms "$(echo "$out" | awk '$1 == "Latency" {print $2; exit}')")
	[ -n "$reqs" ] && [ "$reqs" -gt 0 ] || { echo "$out" >&2; die "wrk $name: no requests"; }
	for kv in ${cpu_pids//,/ }; do
		p=$(awk -v a="${before[$i]}" -v b="$(cpu_of "${kv#*=}")" -v n="$reqs" 'BEGIN{printf "%.1f", (b - a) * 1e6 / n}')
		cpu="$cpu cpu_us_${kv%%=*}=$p"
		i=$((i + 1))
	done
	p=$(awk -v a="$(secs "$t0")" -v b="$(secs "$t1")" -v n="$reqs" 'BEGIN{printf "%.1f", (b - a) * 1e6 / n}')
	cpu="$cpu cpu_us_lg=$p"
	# The share of the machine's CPU time the hypervisor gave to others
	# (steal): a run with much of it measured a slower machine.
	cpu="$cpu steal_pct=$(echo "$st0 $st1" | awk '{t0 = t1 = 0; for (i = 2; i <= 11; i++) {t0 += $i; t1 += $(i + 11)}; printf "%.1f", (t1 > t0) ? ($20 - $9) * 100 / (t1 - t0) : 0}')"
	line="RESULT name=$name reqs=$reqs errors=$errs rps=$rps p50_ms=$p50 p90_ms=$p90 p99_ms=$p99 mean_ms=$mean$cpu"
	printf '%s: %s ok, %s errors (wrk, %s connections)\n  req/s %s   latency ms: p50 %s  p90 %s  p99 %s  mean %s\n  CPU us per request: %s\n' \
		"$name" "$reqs" "$errs" "$CONNS" "$rps" "$p50" "$p90" "$p99" "$mean" "${cpu# }" >&2
	echo "$line" >>"$results"
}
hwm() { awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
rss() { awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
# rss_parts PID: anonymous / file-backed (the binary's pages) resident MB.
rss_parts() { awk '/^RssAnon/ {a=$2} /^RssFile/ {f=$2} END{printf "anon %.1f + file %.1f", a/1024, f/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# --- start the servers ---------------------------------------------------
free_port sm_port
note "starting kubeml serve-model on 127.0.0.1:$sm_port (core $SERVER_CPU)"
taskset -c "$SERVER_CPU" "$tmp/kubeml" serve-model --model "$model" --name fashion --listen "127.0.0.1:$sm_port" \
	>"$tmp/serve-model.log" 2>&1 &
sm_pid=$!
pids+=("$sm_pid")
wait_http "http://127.0.0.1:$sm_port/v2/health/ready" serve-model "$tmp/serve-model.log"
sm_idle=$(rss "$sm_pid")
sm=http://127.0.0.1:$sm_port
check "$sm/v2/models/fashion/infer" "$tmp/oip.json" serve-model-oip
check "$sm/score" "$tmp/score.json" serve-model-score

if [ "$have_node" = 1 ]; then
	free_port ort_port
	note "starting onnxruntime-node $ORT_VERSION on 127.0.0.1:$ort_port (core $SERVER_CPU)"
	NODE_PATH=$ortdir taskset -c "$SERVER_CPU" node "$repo/bench/ortserver/server.js" "$model" "$ort_port" fashion \
		>"$tmp/ort.log" 2>&1 &
	ort_pid=$!
	pids+=("$ort_pid")
	wait_http "http://127.0.0.1:$ort_port/v2/health/ready" onnxruntime-node "$tmp/ort.log"
	check "http://127.0.0.1:$ort_port/v2/models/fashion/infer" "$tmp/oip.json" onnxruntime-node
fi

free_port fk_port
free_port rt_port
note "starting the stand-in Kubernetes API (127.0.0.1:$fk_port) and kubeml router (127.0.0.1:$rt_port, core $PROXY_CPU)"
"$tmp/fakekube" -listen "127.0.0.1:$fk_port" -kubeconfig "$tmp/kubeconfig" -service fashion \
	-backend "127.0.0.1:$sm_port" -key "$key" >"$tmp/fakekube.log" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do [ -s "$tmp/kubeconfig" ] && break; sleep 0.05; done
[ -s "$tmp/kubeconfig" ] || { cat "$tmp/fakekube.log" >&2; die "fakekube did not start"; }
taskset -c "$PROXY_CPU" "$tmp/kubeml" router --kubeconfig "$tmp/kubeconfig" --listen "127.0.0.1:$rt_port" --peer-service "" \
	>"$tmp/router.log" 2>&1 &
rt_pid=$!
pids+=("$rt_pid")
wait_http "http://127.0.0.1:$rt_port/readyz" router "$tmp/router.log"
rt=http://127.0.0.1:$rt_port
check "$rt/v2/models/fashion/infer" "$tmp/oip.json" router-oip -H "Authorization: Bearer $key"
check "$rt/api/v1/service/fashion/score" "$tmp/score.json" router-score -H "Authorization: Bearer $key"

free_port gp_port
note "starting a plain httputil.ReverseProxy (bench/goproxy) on 127.0.0.1:$gp_port (core $PROXY_CPU)"
taskset -c "$PROXY_CPU" "$tmp/goproxy" -listen "127.0.0.1:$gp_port" -backend "127.0.0.1:$sm_port" >"$tmp/goproxy.log" 2>&1 &
gp_pid=$!
pids+=("$gp_pid")
wait_http "http://127.0.0.1:$gp_port/v2/health/ready" goproxy "$tmp/goproxy.log"
check "http://127.0.0.1:$gp_port/v2/models/fashion/infer" "$tmp/oip.json" goproxy

if [ "$have_nginx" = 1 ]; then
	free_port ng_port
	note "starting nginx on 127.0.0.1:$ng_port (core $PROXY_CPU, 1 worker, keep-alive upstream)"
	mkdir -p "$tmp/nginx"
	cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    keepalive_requests 1000000;
    upstream model { server 127.0.0.1:$sm_port; keepalive 64; keepalive_requests 1000000; }
    server {
        listen 127.0.0.1:$ng_port;
        client_body_buffer_size 64k;
        location / {
            proxy_pass http://model;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
	taskset -c "$PROXY_CPU" "$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" \
		>"$tmp/nginx/out.log" 2>&1 &
	ng_pid=$!
	pids+=("$ng_pid")
	wait_http "http://127.0.0.1:$ng_port/v2/health/ready" nginx "$tmp/nginx/error.log"
	ng_worker=$(pgrep -P "$ng_pid" | head -1)
	[ -n "$ng_worker" ] || die "nginx has no worker process"
	check "http://127.0.0.1:$ng_port/v2/models/fashion/infer" "$tmp/oip.json" nginx
fi

# --- measure -------------------------------------------------------------
note "load: $CONNS connections, $DURATION after $WARMUP warm-up, loadgen on core $LOAD_CPU, servers on core $SERVER_CPU, $ROUNDS round(s)"
for round in $(seq "$ROUNDS"); do
	s=""
	if [ "$ROUNDS" -gt 1 ]; then s=".$round"; fi
	# The proxies run right after the direct run, and direct runs again
	# after them: each proxy ratio is taken against the mean of the two,
	# so that drift of the machine within a round cancels.
	cpu_pids="sm=$sm_pid"
	load "direct_oip$s" "$sm/v2/models/fashion/infer" "$tmp/oip.json"
	cpu_pids="sm=$sm_pid,proxy=$rt_pid"
	load "router_oip$s" "$rt/v2/models/fashion/infer" "$tmp/oip.json" "Authorization: Bearer $key"
	if [ "$have_nginx" = 1 ]; then cpu_pids="sm=$sm_pid,proxy=$ng_worker"; load "nginx_oip$s" "http://127.0.0.1:$ng_port/v2/models/fashion/infer" "$tmp/oip.json"; fi
	if [ "$PROXY_CPU" != "$LOAD_CPU" ]; then
		# The other placement, as in a cluster where the router has its own
		# CPU: the proxies moved beside the load generator, serve-model alone.
		taskset -apc "$LOAD_CPU" "$rt_pid" >/dev/null
		cpu_pids="sm=$sm_pid,proxy=$rt_pid"
		load "router_oip_apart$s" "$rt/v2/models/fashion/infer" "$tmp/oip.json" "Authorization: Bearer $key"
		taskset -apc "$PROXY_CPU" "$rt_pid" >/dev/null
		if [ "$have_nginx" = 1 ]; then
			taskset -apc "$LOAD_CPU" "$ng_worker" >/dev/null
			cpu_pids="sm=$sm_pid,proxy=$ng_worker"
			load "nginx_oip_apart$s" "http://127.0.0.1:$ng_port/v2/models/fashion/infer" "$tmp/oip.json"
			taskset -apc "$PROXY_CPU" "$ng_worker" >/dev/null
		fi
	fi
	cpu_pids="sm=$sm_pid"
	load "direct_oip_end$s" "$sm/v2/models/fashion/infer" "$tmp/oip.json"
	load "direct_score$s" "$sm/score" "$tmp/score.json"
	cpu_pids="sm=$sm_pid,proxy=$rt_pid"
	load "router_score$s" "$rt/api/v1/service/fashion/score" "$tmp/score.json" "Authorization: Bearer $key"
	cpu_pids="sm=$sm_pid,proxy=$gp_pid"
	load "goproxy_oip$s" "http://127.0.0.1:$gp_port/v2/models/fashion/infer" "$tmp/oip.json"
	if [ "$have_node" = 1 ]; then
		cpu_pids="node=$ort_pid"
		load "ort_oip$s" "http://127.0.0.1:$ort_port/v2/models/fashion/infer" "$tmp/oip.json"
		cpu_pids="sm=$sm_pid"
		load "direct_oip_ort$s" "$sm/v2/models/fashion/infer" "$tmp/oip.json"
	fi
done
sm_hwm=$(hwm "$sm_pid")
sm_rss=$(rss "$sm_pid")
sm_parts=$(rss_parts "$sm_pid")
rt_hwm=$(hwm "$rt_pid")
ort_hwm="-"
if [ "$have_node" = 1 ]; then ort_hwm=$(hwm "$ort_pid"); fi

if [ -n "$PROFILE" ]; then
	free_port pp
	note "profiling serve-model's handler (bench/servingprof) under the OIP load"
	taskset -c "$SERVER_CPU" "$tmp/servingprof" -model "$model" -listen "127.0.0.1:$pp" -cpuprofile "$PROFILE" \
		>"$tmp/prof.log" 2>&1 &
	prof_pid=$!
	pids+=("$prof_pid")
	wait_http "http://127.0.0.1:$pp/v2/health/ready" servingprof "$tmp/prof.log"
	cpu_pids="sm=$prof_pid"
	load "profiled_oip" "http://127.0.0.1:$pp/v2/models/fashion/infer" "$tmp/oip.json"
	kill -INT "$prof_pid"
	wait "$prof_pid" || true
	note "CPU profile written to $PROFILE (read it with: go tool pprof -top $PROFILE)"
fi

note "in-process router benchmark (go test -bench RouterOverhead -benchtime $BENCHTIME)"
bench_out=$(go test -run '^$' -bench RouterOverhead -benchtime "$BENCHTIME" ./internal/router/ 2>&1) || { echo "$bench_out" >&2; die "go test -bench RouterOverhead"; }
bench_line=$(echo "$bench_out" | grep '^BenchmarkRouterOverhead' | head -1)
metric() { echo "$bench_line" | awk -v u="$1" '{for (i = 2; i <= NF; i++) if ($i == u) print $(i-1)}'; }

# --- report --------------------------------------------------------------
field() { # field NAME KEY: from the RESULT lines, the median over rounds
	{ grep -E "name=$1(\.[0-9]+)? " "$results" || true; } | tr ' ' '\n' | { grep "^$2=" || true; } | cut -d= -f2 | sort -g |
		awk '{v[NR]=$1} END{if (NR == 0) print ""; else if (NR % 2) print v[(NR+1)/2]; else printf "%g\n", (v[NR/2]+v[NR/2+1])/2}'
}
echo
echo "kubeml serving, fashion MLP (784 -> 10), $CONNS connections, $DURATION each, servers on core $SERVER_CPU, proxies on core $PROXY_CPU, loadgen on core $LOAD_CPU"
if [ "$ROUNDS" -gt 1 ]; then echo "(each figure the median of $ROUNDS rounds; ratios are the medians of the per-round ratios)"; fi
printf '%-16s %10s %9s %9s %9s %8s %12s %12s %12s %7s\n' run req/s p50_ms p90_ms p99_ms errors server_us/req proxy_us/req loadgen_us/req steal_%
for n in direct_oip direct_oip_end direct_oip_ort direct_score ort_oip router_oip router_score goproxy_oip nginx_oip router_oip_apart nginx_oip_apart; do
	r=$(field "$n" rps)
	[ -n "$r" ] || continue
	srv=$(field "$n" cpu_us_sm)
	if [ "$n" = ort_oip ]; then srv=$(field "$n" cpu_us_node); fi
	printf '%-16s %10.0f %9s %9s %9s %8s %12s %12s %12s %7s\n' "$n" "$r" "$(field "$n" p50_ms)" "$(field "$n" p90_ms)" "$(field "$n" p99_ms)" "$(field "$n" errors)" "${srv:--}" "$(field "$n" cpu_us_proxy | sed 's/^$/-/')" "$(field "$n" cpu_us_lg | sed 's/^$/-/')" "$(field "$n" steal_pct)"
done
echo "(server_us/req, proxy_us/req, loadgen_us/req: CPU time, user+system, per request of serve-model (node for ort_oip), of the proxy and of the load generator: less sensitive to other load on the machine than req/s; steal_%: CPU time the hypervisor gave to other machines during the run)"
echo
echo "memory: serve-model VmHWM $sm_hwm MB (idle RSS $sm_idle MB; after load $sm_rss MB = $sm_parts); router VmHWM $rt_hwm MB; onnxruntime-node VmHWM $ort_hwm MB"
echo "in-process BenchmarkRouterOverhead: direct $(metric direct-ns/op) ns, router $(metric router-ns/op) ns, overhead $(metric overhead-ns/op) ns/op, p50 overhead $(metric p50-overhead-ns) ns"
echo

verdict() { if awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN{exit !((op == ">=") ? a >= b : a <= b)}'; then echo met; else echo MISSED; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (b > 0) printf "%.2f", a / b; else print 0}'; }
# value NAME KEY: KEY of the run NAME (with its round suffix), or "".
value() { { grep "^RESULT name=$1 " "$results" || true; } | tr ' ' '\n' | { grep "^$2=" || true; } | cut -d= -f2; }
# per_round A B KEY OP: the median over rounds of A's KEY OP B's KEY in
# the same round (OP "/" or "-"), so that drift between rounds cancels. B
# may be "B1+B2": the mean of the two runs.
per_round() {
	local i a b b1 b2 out=()
	for i in $(seq "$ROUNDS"); do
		local s=""
		if [ "$ROUNDS" -gt 1 ]; then s=".$i"; fi
		a=$(value "$1$s" "$3")
		if [[ $2 == *+* ]]; then
			b1=$(value "${2%+*}$s" "$3")
			b2=$(value "${2#*+}$s" "$3")
			b=""
			if [ -n "$b1" ] && [ -n "$b2" ]; then b=$(awk -v x="$b1" -v y="$b2" 'BEGIN{printf "%.4f", (x + y) / 2}'); fi
		else
			b=$(value "$2$s" "$3")
		fi
		[ -n "$a" ] && [ -n "$b" ] || continue
		out+=("$(awk -v a="$a" -v b="$b" -v op="$4" 'BEGIN{if (op == "/") printf "%.4f", (b > 0 ? a / b : 0); else printf "%.4f", a - b}')")
	done
	printf '%s\n' "${out[@]}" | sort -g | awk -v op="$4" '{v[NR]=$1} END{m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf (op == "/") ? "%.2f" : "%.3f", m}'
}
d=$(field direct_oip rps)
printf '%-44s %10s %8s %s\n' target value goal status
if [ "$have_node" = 1 ]; then
	x=$(per_round direct_oip_ort ort_oip rps /)
	printf '%-44s %10s %8s %s\n' "serve-model OIP / onnxruntime-node (req/s)" "${x}x" ">=1.5x" "$(verdict "$x" '>=' 1.5)"
fi
x=$(per_round router_oip direct_oip+direct_oip_end rps /)
printf '%-44s %10s %8s %s\n' "router / direct, OIP (req/s)" "${x}x" ">=0.85x" "$(verdict "$x" '>=' 0.85)"
dp=$(per_round router_oip direct_oip+direct_oip_end p50_ms -)
printf '%-44s %10s %8s %s\n' "router - direct p50, OIP (ms)" "+$dp" "<=+0.3" "$(verdict "$dp" '<=' 0.3)"
x=$(per_round router_score direct_score rps /)
printf '%-44s %10s %8s %s\n' "router / direct, /score (req/s)" "${x}x" ">=0.85x" "$(verdict "$x" '>=' 0.85)"
dp=$(per_round router_score direct_score p50_ms -)
printf '%-44s %10s %8s %s\n' "router - direct p50, /score (ms)" "+$dp" "<=+0.3" "$(verdict "$dp" '<=' 0.3)"
x=$(per_round goproxy_oip direct_oip+direct_oip_end rps /)
printf '%-44s %10s %8s %s\n' "httputil.ReverseProxy / direct, OIP (req/s)" "${x}x" "" "info"
if [ "$have_nginx" = 1 ]; then
	x=$(per_round nginx_oip direct_oip+direct_oip_end rps /)
	printf '%-44s %10s %8s %s\n' "nginx / direct, OIP (req/s)" "${x}x" "(~0.73)" "info"
	x=$(per_round router_oip nginx_oip rps /)
	printf '%-44s %10s %8s %s\n' "router / nginx, OIP (req/s)" "${x}x" "" "info"
fi
if [ "$PROXY_CPU" != "$LOAD_CPU" ]; then
	echo "(the _apart runs: the proxy moved to core $LOAD_CPU, beside the load generator, serve-model alone on core $SERVER_CPU)"
	x=$(per_round router_oip_apart direct_oip+direct_oip_end rps /)
	printf '%-44s %10s %8s %s\n' "router apart / direct, OIP (req/s)" "${x}x" ">=0.85x" "$(verdict "$x" '>=' 0.85)"
	dp=$(per_round router_oip_apart direct_oip+direct_oip_end p50_ms -)
	printf '%-44s %10s %8s %s\n' "router apart - direct p50, OIP (ms)" "+$dp" "<=+0.3" "$(verdict "$dp" '<=' 0.3)"
	if [ "$have_nginx" = 1 ]; then
		x=$(per_round nginx_oip_apart direct_oip+direct_oip_end rps /)
		printf '%-44s %10s %8s %s\n' "nginx apart / direct, OIP (req/s)" "${x}x" "" "info"
	fi
fi
# The same targets from CPU time per request, which other processes on the
# machine disturb far less than throughput: on a shared core, throughput
# ratios are ratios of CPU per request.
cpu_ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "0"}'; }
smc=$(field direct_oip cpu_us_sm)
if [ "$have_node" = 1 ]; then
	x=$(cpu_ratio "$(field ort_oip cpu_us_node)" "$smc")
	printf '%-44s %10s %8s %s\n' "CPU/req: onnxruntime-node / serve-model, OIP" "${x}x" ">=1.5x" "$(verdict "$x" '>=' 1.5)"
fi
rtc=$(field router_oip cpu_us_proxy)
x=$(awk -v s="$smc" -v r="$rtc" 'BEGIN{if (s + r > 0) printf "%.2f", s / (s + r); else print 0}')
printf '%-44s %10s %8s %s\n' "CPU/req: sm / (sm + router), OIP" "${x}x" ">=0.85x" "$(verdict "$x" '>=' 0.85)"
x=$(awk -v s="$smc" -v r="$(field nginx_oip cpu_us_proxy)" 'BEGIN{if (s + r > 0) printf "%.2f", s / (s + r); else print 0}')
printf '%-44s %10s %8s %s\n' "CPU/req: sm / (sm + nginx), OIP" "${x}x" "" "info"
printf '%-44s %10s %8s %s\n' "serve-model VmHWM under load (MB)" "$sm_hwm" "<60" "$(verdict "$sm_hwm" '<=' 59.999)"
echo
grep '^RESULT ' "$results"

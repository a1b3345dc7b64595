"""Expositions of each known server (written here from the metric names) into Readings."""

from __future__ import annotations

import math

import pytest

from numaview.workload.expo import ExpositionError, parse
from numaview.workload.profiles import NOT_KNOWN, CustomMetrics, recognise

VLLM = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="llama-8b"} 12.0
vllm:num_requests_running{engine="1",model_name="llama-8b"} 10.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="llama-8b"} 3.0
vllm:num_requests_waiting{engine="1",model_name="llama-8b"} 1.0
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="llama-8b"} 40000.0
vllm:prompt_tokens_total{engine="1",model_name="llama-8b"} 38000.0
# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="llama-8b"} 9000.0
vllm:generation_tokens_total{engine="1",model_name="llama-8b"} 8500.0
# HELP vllm:request_success_total Count of successfully processed requests.
# TYPE vllm:request_success_total counter
vllm:request_success_total{engine="0",finished_reason="stop",model_name="llama-8b"} 70.0
vllm:request_success_total{engine="0",finished_reason="length",model_name="llama-8b"} 5.0
vllm:request_success_total{engine="1",finished_reason="stop",model_name="llama-8b"} 60.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.05",model_name="llama-8b"} 20.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="llama-8b"} 60.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.5",model_name="llama-8b"} 74.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="llama-8b"} 75.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="llama-8b"} 75.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="llama-8b"} 6.5
vllm:time_to_first_token_seconds_bucket{engine="1",le="0.05",model_name="llama-8b"} 10.0
vllm:time_to_first_token_seconds_bucket{engine="1",le="0.1",model_name="llama-8b"} 50.0
vllm:time_to_first_token_seconds_bucket{engine="1",le="0.5",model_name="llama-8b"} 60.0
vllm:time_to_first_token_seconds_bucket{engine="1",le="+Inf",model_name="llama-8b"} 60.0
vllm:time_to_first_token_seconds_count{engine="1",model_name="llama-8b"} 60.0
vllm:time_to_first_token_seconds_sum{engine="1",model_name="llama-8b"} 5.0
# HELP vllm:time_per_output_token_seconds Histogram of time per output token in seconds.
# TYPE vllm:time_per_output_token_seconds histogram
vllm:time_per_output_token_seconds_bucket{engine="0",le="0.01",model_name="llama-8b"} 5000.0
vllm:time_per_output_token_seconds_bucket{engine="0",le="0.025",model_name="llama-8b"} 8900.0
vllm:time_per_output_token_seconds_bucket{engine="0",le="+Inf",model_name="llama-8b"} 8925.0
vllm:time_per_output_token_seconds_count{engine="0",model_name="llama-8b"} 8925.0
vllm:time_per_output_token_seconds_sum{engine="0",model_name="llama-8b"} 110.0
# HELP vllm:e2e_request_latency_seconds Histogram of end to end request latency in seconds.
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{engine="0",le="1.0",model_name="llama-8b"} 30.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="5.0",model_name="llama-8b"} 75.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="llama-8b"} 75.0
vllm:e2e_request_latency_seconds_count{engine="0",model_name="llama-8b"} 75.0
vllm:e2e_request_latency_seconds_sum{engine="0",model_name="llama-8b"} 150.0
vllm:e2e_request_latency_seconds_bucket{engine="1",le="1.0",model_name="llama-8b"} 20.0
vllm:e2e_request_latency_seconds_bucket{engine="1",le="2.5",model_name="llama-8b"} 40.0
vllm:e2e_request_latency_seconds_bucket{engine="1",le="5.0",model_name="llama-8b"} 60.0
vllm:e2e_request_latency_seconds_bucket{engine="1",le="+Inf",model_name="llama-8b"} 60.0
vllm:e2e_request_latency_seconds_count{engine="1",model_name="llama-8b"} 60.0
vllm:e2e_request_latency_seconds_sum{engine="1",model_name="llama-8b"} 100.0
"""


def test_vllm_sums_label_sets_and_maps_names() -> None:
    r = recognise(parse(VLLM))
    assert r.server == "vllm"
    assert r.counters["out_tokens"] == 17500
    assert r.counters["prompt_tokens"] == 78000
    assert r.counters["requests"] == 135  # every finished_reason and engine
    assert r.gauges == {"running": 22, "waiting": 4}
    ttft = r.hists["ttft"]
    assert ttft.bounds == (0.05, 0.1, 0.5, math.inf)
    assert ttft.counts == (30.0, 110.0, 134.0, 135.0)
    assert ttft.total == 135 and ttft.sum == pytest.approx(11.5)
    assert r.hists["itl"].counts == (5000.0, 8900.0, 8925.0)  # the older metric name
    # engine 1 has a 2.5 bucket engine 0 lacks: only the common bounds are summed
    e2e = r.hists["e2e"]
    assert e2e.bounds == (1.0, 5.0, math.inf)
    assert e2e.counts == (50.0, 135.0, 135.0)


SGLANG = """\
# HELP sglang:prompt_tokens_total Number of prefill tokens processed.
# TYPE sglang:prompt_tokens_total counter
sglang:prompt_tokens_total{model_name="qwen-7b"} 5000.0
# HELP sglang:generation_tokens_total Number of generation tokens processed.
# TYPE sglang:generation_tokens_total counter
sglang:generation_tokens_total{model_name="qwen-7b"} 1200.0
# HELP sglang:realtime_tokens_total Tokens processed, updated each scheduler step.
# TYPE sglang:realtime_tokens_total counter
sglang:realtime_tokens_total{mode="decode",model_name="qwen-7b"} 1500.0
sglang:realtime_tokens_total{mode="prefill_compute",model_name="qwen-7b"} 3000.0
sglang:realtime_tokens_total{mode="prefill_cache",model_name="qwen-7b"} 2500.0
# HELP sglang:num_requests_total Number of requests processed.
# TYPE sglang:num_requests_total counter
sglang:num_requests_total{model_name="qwen-7b"} 42.0
# HELP sglang:num_running_reqs The number of running requests.
# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="qwen-7b",priority=""} 8.0
sglang:num_running_reqs{model_name="qwen-7b",priority="0"} 5.0
sglang:num_running_reqs{model_name="qwen-7b",priority="1"} 3.0
# HELP sglang:num_queue_reqs The number of requests in the waiting queue.
# TYPE sglang:num_queue_reqs gauge
sglang:num_queue_reqs{model_name="qwen-7b"} 2.0
# HELP sglang:inter_token_latency_seconds Histogram of inter-token latency in seconds.
# TYPE sglang:inter_token_latency_seconds histogram
sglang:inter_token_latency_seconds_bucket{le="0.01",model_name="qwen-7b"} 900.0
sglang:inter_token_latency_seconds_bucket{le="0.05",model_name="qwen-7b"} 1190.0
sglang:inter_token_latency_seconds_bucket{le="+Inf",model_name="qwen-7b"} 1200.0
sglang:inter_token_latency_seconds_sum{model_name="qwen-7b"} 14.0
sglang:inter_token_latency_seconds_count{model_name="qwen-7b"} 1200.0
"""


def test_sglang_prefers_realtime_tokens_and_drops_priority_subsets() -> None:
    r = recognise(parse(SGLANG))
    assert r.server == "sglang"
    assert r.counters["out_tokens"] == 1500  # realtime decode, not generation_tokens_total
    assert r.counters["prompt_tokens"] == 5500  # prefill_compute + prefill_cache
    assert r.counters["requests"] == 42
    assert r.gauges == {"running": 8, "waiting": 2}
    assert r.hists["itl"].total == 1200
    assert "ttft" not in r.hists


def test_sglang_without_realtime_uses_generation_tokens() -> None:
    text = "\n".join(ln for ln in SGLANG.splitlines() if "realtime" not in ln) + "\n"
    r = recognise(parse(text))
    assert r.counters["out_tokens"] == 1200
    assert r.counters["prompt_tokens"] == 5000


TGI = """\
# TYPE tgi_request_success counter
tgi_request_success 90
# TYPE tgi_request_count counter
tgi_request_count 95
# TYPE tgi_request_failure counter
tgi_request_failure{err="validation"} 5
# TYPE tgi_queue_size gauge
tgi_queue_size 4
# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 16
# TYPE tgi_request_generated_tokens histogram
tgi_request_generated_tokens_bucket{le="64"} 30
tgi_request_generated_tokens_bucket{le="512"} 90
tgi_request_generated_tokens_bucket{le="+Inf"} 90
tgi_request_generated_tokens_sum 21000
tgi_request_generated_tokens_count 90
# TYPE tgi_request_input_length histogram
tgi_request_input_length_bucket{le="1024"} 90
tgi_request_input_length_bucket{le="+Inf"} 90
tgi_request_input_length_sum 45000
tgi_request_input_length_count 90
# TYPE tgi_request_duration histogram
tgi_request_duration_bucket{le="1"} 10
tgi_request_duration_bucket{le="4"} 80
tgi_request_duration_bucket{le="+Inf"} 90
tgi_request_duration_sum 230
tgi_request_duration_count 90
# TYPE tgi_request_queue_duration histogram
tgi_request_queue_duration_bucket{le="0.1"} 90
tgi_request_queue_duration_bucket{le="+Inf"} 90
tgi_request_queue_duration_sum 2
tgi_request_queue_duration_count 90
# TYPE tgi_request_mean_time_per_token_duration histogram
tgi_request_mean_time_per_token_duration_bucket{le="0.02"} 60
tgi_request_mean_time_per_token_duration_bucket{le="0.05"} 90
tgi_request_mean_time_per_token_duration_bucket{le="+Inf"} 90
tgi_request_mean_time_per_token_duration_sum 1.8
tgi_request_mean_time_per_token_duration_count 90
"""


def test_tgi_token_sums_and_no_ttft() -> None:
    r = recognise(parse(TGI))
    assert r.server == "tgi"
    assert r.counters["out_tokens"] == 21000
    assert r.counters["prompt_tokens"] == 45000
    assert r.counters["requests"] == 90  # success, not the request count
    assert r.counters["failures"] == 5
    assert r.gauges == {"waiting": 4, "running": 16}
    assert set(r.hists) == {"e2e", "itl"}  # queue time is not TTFT
    assert r.hists["e2e"].counts == (10.0, 80.0, 90.0)


LLAMACPP = """\
# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 3200
# HELP llamacpp:prompt_seconds_total Prompt process time
# TYPE llamacpp:prompt_seconds_total counter
llamacpp:prompt_seconds_total 1.6
# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 800
# HELP llamacpp:tokens_predicted_seconds_total Predict process time
# TYPE llamacpp:tokens_predicted_seconds_total counter
llamacpp:tokens_predicted_seconds_total 16
# HELP llamacpp:n_decode_total Total number of llama_decode() calls
# TYPE llamacpp:n_decode_total counter
llamacpp:n_decode_total 790
# HELP llamacpp:prompt_tokens_seconds Average prompt throughput in tokens/s.
# TYPE llamacpp:prompt_tokens_seconds gauge
llamacpp:prompt_tokens_seconds 2000
# HELP llamacpp:predicted_tokens_seconds Average generation throughput in tokens/s.
# TYPE llamacpp:predicted_tokens_seconds gauge
llamacpp:predicted_tokens_seconds 50
# HELP llamacpp:requests_processing Number of requests processing.
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 2
# HELP llamacpp:requests_deferred Number of requests deferred.
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 1
"""


def test_llamacpp_counters_and_itl_pair_no_requests() -> None:
    r = recognise(parse(LLAMACPP))
    assert r.server == "llamacpp"
    assert r.counters == {
        "out_tokens": 800,
        "prompt_tokens": 3200,
        "itl_sum_s": 16,
        "itl_count": 800,
    }
    assert r.gauges == {"running": 2, "waiting": 1}  # the averaging gauges are ignored


TRITON = """\
# HELP nv_inference_request_success Number of successful inference requests
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="resnet",version="1"} 300
nv_inference_request_success{model="bert",version="2"} 100
# HELP nv_inference_request_failure Number of failed inference requests
# TYPE nv_inference_request_failure counter
nv_inference_request_failure{model="resnet",version="1"} 2
nv_inference_request_failure{model="bert",version="2"} 0
# HELP nv_inference_count Number of inferences performed
# TYPE nv_inference_count counter
nv_inference_count{model="resnet",version="1"} 1200
nv_inference_count{model="bert",version="2"} 100
# HELP nv_inference_request_duration_us Cumulative inference request duration
# TYPE nv_inference_request_duration_us counter
nv_inference_request_duration_us{model="resnet",version="1"} 6000000
nv_inference_request_duration_us{model="bert",version="2"} 2000000
# HELP nv_inference_queue_duration_us Cumulative inference queuing duration
# TYPE nv_inference_queue_duration_us counter
nv_inference_queue_duration_us{model="resnet",version="1"} 90000
# HELP nv_inference_pending_request_count Instantaneous number of pending requests
# TYPE nv_inference_pending_request_count gauge
nv_inference_pending_request_count{model="resnet",version="1"} 3
nv_inference_pending_request_count{model="bert",version="2"} 1
# HELP nv_inference_request_summary_us Summary of inference request duration
# TYPE nv_inference_request_summary_us summary
nv_inference_request_summary_us{model="resnet",version="1",quantile="0.5"} 18000
nv_inference_request_summary_us{model="resnet",version="1",quantile="0.99"} 45000
nv_inference_request_summary_us_sum{model="resnet",version="1"} 5900000
nv_inference_request_summary_us_count{model="resnet",version="1"} 300
nv_inference_request_summary_us{model="bert",version="2",quantile="0.5"} 20000
nv_inference_request_summary_us{model="bert",version="2",quantile="0.99"} NaN
nv_inference_request_summary_us_sum{model="bert",version="2"} 2000000
nv_inference_request_summary_us_count{model="bert",version="2"} 100
"""


def test_triton_counters_in_seconds_and_summary_quantiles() -> None:
    r = recognise(parse(TRITON))
    assert r.server == "triton"
    assert r.counters["requests"] == 400  # counters without _total still found
    assert r.counters["failures"] == 2
    assert r.counters["e2e_sum_s"] == pytest.approx(8.0)  # µs -> s, the duration counter
    assert r.counters["e2e_count"] == 400  # success, not nv_inference_count (batched)
    assert r.gauges["waiting"] == 4
    assert r.gauges["e2e_p50_s"] == pytest.approx(0.020)  # the worse of the two models
    assert r.gauges["e2e_p99_s"] == pytest.approx(0.045)  # the NaN one is left out
    values = [*r.counters.values(), *r.gauges.values()]
    assert all(math.isfinite(v) for v in values)


OPENMETRICS = """\
# TYPE vllm:generation_tokens counter
# HELP vllm:generation_tokens Number of generation tokens processed.
vllm:generation_tokens_total{model_name="m"} 500.0
vllm:generation_tokens_created{model_name="m"} 1.7e+09
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{le="1.0",model_name="m"} 4.0
vllm:e2e_request_latency_seconds_bucket{le="+Inf",model_name="m"} 5.0
vllm:e2e_request_latency_seconds_count{model_name="m"} 5.0
vllm:e2e_request_latency_seconds_sum{model_name="m"} 3.0
vllm:e2e_request_latency_seconds_created{model_name="m"} 1.7e+09
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m"} 2.0
# EOF
"""


def test_openmetrics_with_created() -> None:
    r = recognise(parse(OPENMETRICS))
    assert r.counters["out_tokens"] == 500
    assert r.created == {"out_tokens": 1.7e9, "e2e": 1.7e9}
    assert r.hists["e2e"].total == 5


def test_prometheus_text_created_samples_too() -> None:
    text = VLLM + (
        "# HELP vllm:request_success_created Count of successfully processed requests.\n"
        "# TYPE vllm:request_success_created gauge\n"
        'vllm:request_success_created{engine="0",finished_reason="stop"} 1.75e9\n'
        'vllm:request_success_created{engine="0",finished_reason="length"} 1.76e9\n'
    )
    r = recognise(parse(text))
    assert r.created["requests"] == 1.75e9  # the oldest label set's


def test_histogram_without_inf_bucket() -> None:
    text = """\
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{le="0.5"} 3
vllm:e2e_request_latency_seconds_bucket{le="2"} 7
vllm:e2e_request_latency_seconds_sum 9
vllm:e2e_request_latency_seconds_count 8
"""
    h = recognise(parse(text)).hists["e2e"]
    assert h.bounds == (0.5, 2.0) and h.counts == (3.0, 7.0) and h.total == 8
    # the OpenMetrics parser refuses a histogram without +Inf; the text parser takes it
    assert recognise(parse(text + "# EOF\n")).hists["e2e"].counts == (3.0, 7.0)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   \n",
        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9",
        "Not Found",
        "metric{label= 1 2 3",
        "# EOF\n",
    ],
)
def test_not_an_exposition(body: str) -> None:
    with pytest.raises(ExpositionError) as exc:
        parse(body)
    msg = str(exc.value)
    assert msg.startswith("not a Prometheus exposition")
    assert "\n" not in msg and msg.isprintable() and len(msg) < 140


UNKNOWN = """\
# HELP myapp_requests_total Requests served.
# TYPE myapp_requests_total counter
myapp_requests_total{route="/gen"} 120
myapp_requests_total{route="/chat"} 30
# HELP myapp_latency_seconds Request latency.
# TYPE myapp_latency_seconds histogram
myapp_latency_seconds_bucket{route="/gen",le="0.1"} 50
myapp_latency_seconds_bucket{route="/gen",le="1"} 120
myapp_latency_seconds_bucket{route="/gen",le="+Inf"} 120
myapp_latency_seconds_sum{route="/gen"} 40
myapp_latency_seconds_count{route="/gen"} 120
# HELP myapp_work_ms Time spent working.
# TYPE myapp_work_ms summary
myapp_work_ms{quantile="0.5"} 200
myapp_work_ms{quantile="0.99"} 900
myapp_work_ms_sum 30000
myapp_work_ms_count 150
# TYPE myapp_busy_duration_us counter
myapp_busy_duration_us 45000000
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
"""


def test_no_known_metrics_is_an_error() -> None:
    with pytest.raises(ExpositionError, match="no known server metrics") as exc:
        recognise(parse(UNKNOWN))
    assert str(exc.value) == NOT_KNOWN


def test_custom_counter_and_histogram() -> None:
    r = recognise(parse(UNKNOWN), CustomMetrics("myapp_requests_total", "myapp_latency_seconds"))
    assert r.server == "custom"
    assert r.counters["requests"] == 150
    assert r.hists["e2e"].counts == (50.0, 120.0, 120.0)


def test_custom_tokens_and_summary_in_ms() -> None:
    custom = CustomMetrics(
        "myapp_requests", "myapp_work_ms", latency_unit="ms", throughput_unit="tokens"
    )
    r = recognise(parse(UNKNOWN), custom)
    assert r.counters["out_tokens"] == 150 and "requests" not in r.counters
    assert r.gauges["e2e_p50_s"] == pytest.approx(0.2)
    assert r.gauges["e2e_p99_s"] == pytest.approx(0.9)
    assert r.counters["e2e_sum_s"] == pytest.approx(30.0)
    assert r.counters["e2e_count"] == 150


def test_custom_duration_counter_with_request_counter() -> None:
    custom = CustomMetrics("myapp_requests_total", "myapp_busy_duration_us", latency_unit="us")
    r = recognise(parse(UNKNOWN), custom)
    assert r.counters["e2e_sum_s"] == pytest.approx(45.0)
    assert r.counters["e2e_count"] == 150


def test_custom_duration_counter_without_a_count_is_an_error() -> None:
    with pytest.raises(ExpositionError, match="duration counter"):
        recognise(parse(UNKNOWN), CustomMetrics(latency="myapp_busy_duration_us"))


def test_custom_name_missing_is_an_error() -> None:
    with pytest.raises(ExpositionError, match="no metric nope_total"):
        recognise(parse(UNKNOWN), CustomMetrics("nope_total"))


def test_custom_on_top_of_a_known_server() -> None:
    r = recognise(parse(VLLM + UNKNOWN), CustomMetrics(latency="myapp_latency_seconds"))
    assert r.server == "vllm"
    assert r.counters["out_tokens"] == 17500  # the profile's figures stay
    assert r.hists["e2e"].bounds == (0.1, 1.0, math.inf)  # the custom latency wins


def test_known_server_before_its_first_request() -> None:
    text = (
        "# HELP vllm:request_success_total Count of successfully processed requests.\n"
        "# TYPE vllm:request_success_total counter\n"
    )
    r = recognise(parse(text))
    assert r.server == "vllm" and not r.counters

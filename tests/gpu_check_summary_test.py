#!/usr/bin/env python3
"""scripts/gpu_check_summary.py on canned logs of both gpu_check.sh calls: each check's verdict and figure beside its
peer or goal, failures named; a missing log or figure, a phase cut by the time budget or never reached, and a GPU test
that skipped under KACHI_REQUIRE_GPU=1 are each a FAIL (never a silent pass); exit code 1 on any FAIL."""
import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import gpu_check_summary  # noqa: E402

CALL1 = {
    "phases.tsv": "env\t0\t2\nconfigure\t0\t14\nbuild\t0\t201\nreference\t0\t31\nctest_gpu\t8\t150\n"
                  "bench_kernels\t0\t95\n",
    "env.log": "Thu Dec 10 10:00:00 UTC 2026\nname, driver_version, memory.total\nNVIDIA H200, 580.159.03, 143771 MiB\n"
               "gpus=1\n",
    "reference.log": "kachi_reference name=gpt2_tiny_reference.safetensors tensors=40 max_abs_diff=3.1e-07\n"
                     "kachi_reference name=gpt2_tiny_hs64_reference.safetensors tensors=40 max_abs_diff=0.002\n",
    "ctest_gpu.log": "\n".join([
        " 1/4 Test #39: cuda_memory_adamw_test ...........   Passed    0.52 sec",
        " 2/4 Test #48: cuda_attention_test ..............***Failed    3.10 sec",
        " 3/4 Test #23: launcher_bootstrap_test_np2 ......***Skipped   1.80 sec",
        " 4/4 Test #16: nccl_collectives_test_np2 ........   Passed   12.00 sec",
        "75% tests passed, 1 tests failed out of 4"]) + "\n",
    "bench_kernels.log": "\n".join([
        "# kachi bench kernels: device NVIDIA H200, 132 SMs, L2 60 MB; families memory,matmul,attention",
        "# ceilings: copy 4301.5 GB/s (1 GiB device-to-device, read + write), bf16 GEMM 788.2 TFLOP/s (cuBLAS 8192^3)",
        "# cuda_memory kernels: median of 20 cold-L2 runs; copy ceiling 4302 GB/s",
        "kernel                   shape                                    MB  median_us     GB/s   %copy  note",
        "layernorm_forward        bf16 32x1024x768                      100.7       28.0     3600   83.7%  ",
        "gelu_forward             bf16 32x1024x3072                     402.7      150.0     2685   62.4%  index math",
        "# attention: causal flash, bf16, B=32 H=12 T=1024 D=64; TFLOP/s count causal flops",
        "kernel                        median_ms   TFLOP/s   %ceiling    sdpa_ms  sdpa/kachi",
        "forward (default 128)            0.9000     343.6      43.6%     0.9900       1.10x",
        "backward                         2.6000     297.3      37.7%",
        "forward+backward                 3.5000     309.3      39.2%     3.6750       1.05x"]) + "\n",
}

CALL2 = {
    "phases.tsv": "env\t0\t2\nconfigure\t0\t3\nbuild\t0\t4\nbench_train\t0\t230\nbench_ckpt\t0\t80\n"
                  "lanes_gpu\t0\t100\ntrain_1558m_recompute\tskipped\t0\n",
    "env.log": "Thu Dec 10 10:10:00 UTC 2026\nNVIDIA H200, 580.159.03, 143771 MiB\ngpus=1\ngpu: NVIDIA H200, 143771 MiB\n",
    "bench_train.log": "\n".join([
        "kachi_bench_train runner=kachi precision=bf16 batch=32 seq_len=1024 steps=5 ms_per_step=300.0 "
        "tokens_per_s=109226.7 flops_per_token=0 mfu_peak=0.5 mfu_ceiling=0.6 peak_mem_bytes=32212254720 "
        "first_loss=11.0 last_loss=9.0",
        "kachi_bench_train runner=torch_eager precision=bf16 batch=32 seq_len=1024 steps=5 ms_per_step=450.0 "
        "tokens_per_s=72817.8 flops_per_token=0 mfu_peak=0.3 mfu_ceiling=0.4 peak_mem_bytes=40000000000 "
        "first_loss=11.0 last_loss=9.0",
        "kachi_bench_train runner=torch_compile precision=bf16 batch=32 seq_len=1024 steps=5 ms_per_step=360.0 "
        "tokens_per_s=91022.2 flops_per_token=0 mfu_peak=0.4 mfu_ceiling=0.5 peak_mem_bytes=35433480192 "
        "first_loss=11.0 last_loss=9.0"]) + "\n",
    "bench_ckpt.log": "save / dd throughput: 0.65 (goal >= 0.70)\n"
                      "step 300.0 ms (median before saving); async save every 10 steps: median stall 12.0 ms = 4.0% "
                      "of a step (goal <= 10%) over 3 saves\n",
    "lanes_gpu.log": "kachi lanes: done after 52 events in 95.2 s; chosen lane lr_3e-3 (final loss 2.1000); card "
                     "utilization 93.5% (journal /tmp/kachi_lanes_gpu/run)\n",
}


def write(files, out):
    for name, text in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)


def summarize(files, call):
    with tempfile.TemporaryDirectory() as out:
        write(files, out)
        text, failed = gpu_check_summary.summarize(out, call)
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 4 and cells[0] != "check":
            rows[cells[0]] = cells[1:]
    return text, failed, rows


def main_exit_code(files, call):
    with tempfile.TemporaryDirectory() as out:
        write(files, out)
        with contextlib.redirect_stdout(io.StringIO()):
            return gpu_check_summary.main(["gpu_check_summary.py", out, call])


CTEST = "\n".join([
    " 1/2 Test #39: cuda_memory_adamw_test ...........   Passed    0.52 sec",
    " 2/2 Test #23: launcher_bootstrap_test_np2 ......   Passed    1.80 sec",
    "100% tests passed, 0 tests failed out of 2"]) + "\n"


class Call1Test(unittest.TestCase):
    def setUp(self):
        self.text, self.failed, self.rows = summarize(CALL1, "call1")

    def test_title_counts_failures(self):
        self.assertTrue(self.text.startswith("# GPU check call1: "))
        self.assertIn("NVIDIA H200", self.text)
        self.assertEqual(self.rows["GPU visible to the check"][:2], ["PASS", "1 GPU(s)"])
        self.assertEqual(self.failed, 4)  # phase ctest_gpu, ctest, hs64 reference, gelu below 80%
        self.assertIn("4 check(s) FAIL, 1 NOT RUN", self.text.splitlines()[0])
        self.assertEqual(main_exit_code(CALL1, "call1"), 1)

    def test_ctest_names_failed_and_skipped(self):
        verdict, figure, note = self.rows["`KACHI_REQUIRE_GPU=1 ctest -L gpu`"]
        self.assertEqual(verdict, "FAIL")
        self.assertEqual(figure, "2 passed, 1 failed or skipped of 4")
        self.assertIn("failed: cuda_attention_test (Failed)", note)
        self.assertEqual(self.rows["phase ctest_gpu"][0], "FAIL")
        # Needs 2 GPUs, the machine has 1: named as not run, never passed.
        self.assertEqual(self.rows["GPU tests needing more GPUs than here"][:2],
                         ["NOT RUN", "launcher_bootstrap_test_np2"])

    def test_skip_under_require_gpu_fails(self):
        skipped = CTEST.replace("cuda_memory_adamw_test ...........   Passed", "cuda_memory_adamw_test ...........***Skipped")
        for log, gpus in ((skipped, "1"), (CTEST.replace("Passed    1.80", "***Skipped   1.80"), "2")):
            files = dict(CALL1, **{"ctest_gpu.log": log, "env.log": "date\nNVIDIA H200\ngpus=" + gpus + "\n"})
            verdict, _, note = summarize(files, "call1")[2]["`KACHI_REQUIRE_GPU=1 ctest -L gpu`"]
            self.assertEqual(verdict, "FAIL", log)
            self.assertIn("(Skipped)", note)

    def test_ctest_cut_short_fails(self):
        rows = summarize(dict(CALL1, **{"ctest_gpu.log": CTEST.splitlines()[0] + "\n"}), "call1")[2]
        verdict, _, note = rows["`KACHI_REQUIRE_GPU=1 ctest -L gpu`"]
        self.assertEqual(verdict, "FAIL")
        self.assertIn("did not finish", note)
        rows = summarize(dict(CALL1, **{"ctest_gpu.log": CTEST.replace("out of 2", "out of 22")}), "call1")[2]
        self.assertIn("ctest ran 22 tests, 2 results read", rows["`KACHI_REQUIRE_GPU=1 ctest -L gpu`"][2])

    def test_all_pass_exits_zero(self):
        files = dict(CALL1, **{"phases.tsv": CALL1["phases.tsv"].replace("ctest_gpu\t8", "ctest_gpu\t0"),
                               "ctest_gpu.log": CTEST,
                               "reference.log": CALL1["reference.log"].replace("0.002", "1e-06"),
                               "bench_kernels.log": CALL1["bench_kernels.log"].replace("62.4%", "82.4%")})
        text, failed, rows = summarize(files, "call1")
        self.assertEqual(failed, 0, text)
        self.assertTrue(text.startswith("# GPU check call1: all checks pass"))
        self.assertEqual(main_exit_code(files, "call1"), 0)

    def test_reference_diff_against_goal(self):
        self.assertEqual(self.rows["torch reference gpt2_tiny_reference.safetensors"][0], "PASS")
        self.assertEqual(self.rows["torch reference gpt2_tiny_hs64_reference.safetensors"][0], "FAIL")

    def test_kernels_beside_ceilings(self):
        self.assertIn("copy 4302 GB/s", self.rows["ceilings (measured)"][1])
        verdict, figure, note = self.rows["memory-bound kernels"]
        self.assertEqual((verdict, figure), ("FAIL", "1 of 2 >= 80% of copy"))
        self.assertIn("gelu_forward bf16 32x1024x3072 62% (index math)", note)
        verdict, figure, _ = self.rows["flash attention fwd+bwd (B=32 H=12 T=1024 D=64)"]
        self.assertEqual(verdict, "PASS")
        self.assertIn("1.05x", figure)


class Call2Test(unittest.TestCase):
    def setUp(self):
        self.text, self.failed, self.rows = summarize(CALL2, "call2")

    def test_train_beside_torch(self):
        verdict, figure, note = self.rows["kachi / torch compile (tokens/s)"]
        self.assertEqual((verdict, figure), ("PASS", "1.20x"))
        self.assertIn("91,022", note)
        self.assertEqual(self.rows["kachi / torch eager (tokens/s)"][1], "1.50x")
        self.assertEqual(self.rows["peak memory kachi / torch compile"][:2], ["PASS", "0.91x"])
        self.assertIn("`kachi / torch compile: 1.20x tokens/s` (Thu Dec 10 10:10:00 UTC 2026; gpu: NVIDIA H200", self.text)

    def test_ckpt_and_lanes_against_goals(self):
        self.assertEqual(self.rows["checkpoint save / dd (same bytes)"][:2], ["FAIL", "0.65x"])
        self.assertEqual(self.rows["async save stall"][0], "PASS")
        self.assertEqual(self.rows["lanes on the GPU (configs/lanes_gpu.pbtxt)"][0], "PASS")

    def test_phase_cut_by_budget_fails(self):
        self.assertEqual(self.rows["phase train_1558m_recompute"][:2], ["FAIL", "cut by the time budget"])
        self.assertNotIn("GPT-2 1.5B, activation recompute, B=16", self.rows)
        self.assertEqual(self.failed, 2)  # save / dd 0.65x, the cut phase

    def test_missing_torch_compile_fails(self):
        log = "\n".join(l for l in CALL2["bench_train.log"].splitlines() if "torch_compile" not in l)
        rows = summarize(dict(CALL2, **{"bench_train.log": log}), "call2")[2]
        self.assertEqual(rows["`kachi bench train` GPT-2 124M bf16 B=32 T=1024"][0], "FAIL")


class MissingLogsTest(unittest.TestCase):
    def test_phase_without_its_log_fails(self):
        _, failed, rows = summarize({"phases.tsv": "bench_kernels\t0\t5\nbench_ckpt\t0\t5\nbench_train\t1\t5\n"},
                                    "")
        self.assertEqual(rows["`kachi bench kernels`"][0], "FAIL")
        self.assertEqual(rows["checkpoint save / dd"][0], "FAIL")
        self.assertEqual(rows["`kachi bench train` GPT-2 124M bf16 B=32 T=1024"][0], "FAIL")
        self.assertEqual(failed, 5)

    def test_phases_not_reached_fail(self):
        files = {"phases.tsv": "env\t0\t2\nconfigure\t0\t3\nbuild\t1\t50\n", "env.log": "date\n"}
        text, failed, rows = summarize(files, "call2")
        for name in ("bench_train", "bench_ckpt", "lanes_gpu", "train_1558m_recompute"):
            self.assertEqual(rows["phase " + name][:2], ["FAIL", "not reached"])
        self.assertEqual(rows["GPU visible to the check"][:2], ["FAIL", "0 GPU(s)"])  # no gpus= line
        self.assertEqual(failed, 6)

    def test_no_lane_finished_fails(self):
        log = ("kachi lanes: done after 9 events in 0.0 s; chosen lane (none finished) (final loss nan); card "
               "utilization 81.0% (journal /tmp/kachi_lanes_gpu/run)\n")
        rows = summarize(dict(CALL2, **{"lanes_gpu.log": log}), "call2")[2]
        self.assertEqual(rows["lanes on the GPU (configs/lanes_gpu.pbtxt)"][:2], ["FAIL", "no lane finished"])

    def test_nothing_ran(self):
        text, failed, rows = summarize({}, "call2")
        self.assertEqual((len(rows), failed), (7, 7))
        text, failed, rows = summarize({}, "")
        self.assertEqual((rows, failed), ({}, 1))
        self.assertEqual(text.splitlines()[0], "# GPU check : FAIL: nothing ran (no phases.tsv)")
        self.assertEqual(main_exit_code({}, "call2"), 1)


if __name__ == "__main__":
    unittest.main()

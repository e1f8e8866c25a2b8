"""Jobs survive crashes: SIGKILL a server while jobs are queued and running, restart it, and every job completes
exactly once (one output file per job, none lost); the same with two servers sharing one PostgreSQL queue."""
import os
import subprocess
import time

import pytest
import requests

# Long enough that a job is still running when the server is killed (about 30 sentences per job).
LONG = "今天天气很好，我们一起去公园散步吧。" * 30


def submit(url, n, text=LONG):
    r = requests.post(url + "/v1/jobs", json={"text": [f"第{i}个任务。" + text for i in range(n)], "format": "wav"})
    assert r.status_code == 202, r.text
    return [j["id"] for j in r.json()["data"]]


def states(url, ids):
    return {i: requests.get(f"{url}/v1/jobs/{i}").json() for i in ids}


def wait_until(predicate, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def outputs_by_job(data, ids):
    files = os.listdir(os.path.join(data, "outputs"))
    return {i: [f for f in files if f.endswith(f"_{i}.wav")] for i in ids}


def assert_each_completed_once(url, data, ids):
    jobs = states(url, ids)
    assert all(j["state"] == "succeeded" for j in jobs.values()), {i: j["state"] for i, j in jobs.items()}
    files = outputs_by_job(data, ids)
    assert all(len(f) == 1 for f in files.values()), files
    for i in ids:
        audio = requests.get(f"{url}/v1/jobs/{i}/audio")
        assert audio.status_code == 200 and len(audio.content) > 100_000
    return jobs


def test_sigkill_with_queued_and_running_jobs_then_restart(make_server, data_dir):
    server = make_server(["--lease-seconds", "3", "--concurrency", "1"])
    ids = submit(server.url, 5)
    running = wait_until(lambda: [i for i, j in states(server.url, ids).items() if j["state"] == "running"], 60)
    server.kill()
    server.start()
    wait_until(lambda: all(j["state"] in ("succeeded", "failed", "cancelled") for j in states(server.url, ids).values()), 240, 0.5)
    jobs = assert_each_completed_once(server.url, data_dir, ids)
    # The job that was running when the server died was claimed again after its lease expired.
    assert jobs[running[0]]["attempts"] == 2
    assert sum(j["attempts"] for j in jobs.values()) == len(ids) + 1


@pytest.mark.skipif(not os.environ.get("INDEXTTS_TEST_POSTGRES_URL"), reason="needs INDEXTTS_TEST_POSTGRES_URL")
def test_two_servers_share_a_postgres_queue_and_survive_a_sigkill(make_server, data_dir):
    url = os.environ["INDEXTTS_TEST_POSTGRES_URL"]
    subprocess.run(["psql", url, "-qc", "DROP TABLE IF EXISTS indextts_jobs"], check=False, capture_output=True)
    flags = ["--queue", url, "--lease-seconds", "3", "--concurrency", "1"]
    a = make_server(flags)
    b = make_server(flags)
    ids = submit(a.url, 6)

    worker_a = requests.get(a.url + "/healthz").json()["worker"]
    worker_b = requests.get(b.url + "/healthz").json()["worker"]

    def both_busy():
        jobs = states(b.url, ids).values()
        on_a = [j["id"] for j in jobs if j["state"] == "running" and j.get("worker") == worker_a]
        b_busy = any(j.get("worker") == worker_b or (j.get("result") or {}).get("worker") == worker_b for j in jobs)
        return on_a if on_a and b_busy else None

    running_on_a = wait_until(both_busy, 120, 0.05)
    a.kill()
    wait_until(lambda: all(j["state"] == "succeeded" for j in states(b.url, ids).values()), 300, 0.5)
    jobs = assert_each_completed_once(b.url, data_dir, ids)
    for i in running_on_a:
        # A died holding it: B took it over once the lease expired and completed it, once.
        assert jobs[i]["attempts"] == 2 and jobs[i]["result"]["worker"] == worker_b, jobs[i]
    assert {j["result"]["worker"] for j in jobs.values()} <= {worker_a, worker_b}

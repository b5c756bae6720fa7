# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A child that ignores SIGTERM
#     level: beginner
#     minutes: 5
# ---

# %%
import subprocess
import sys

from escape_tools import SLEEP, marker, record

# The marker shows in the process table once SIGTERM is ignored (the sleep inherits that).
code = (
    "import os, signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "os.execve(os.environ['SLEEP'], ['sleep', os.environ['FOR']], {})"
)

# %%
env = {"SLEEP": SLEEP, "FOR": marker(3)}
child = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)
record(3)

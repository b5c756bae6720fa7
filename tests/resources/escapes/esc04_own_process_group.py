# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A child that changes its process group
#     level: beginner
#     minutes: 5
# ---

# %%
import subprocess
import sys

from escape_tools import SLEEP, marker, record

# The marker shows in the process table once the child is in a process group of its own.
code = "import os; os.setpgid(0, 0); os.execve(os.environ['SLEEP'], ['sleep', os.environ['FOR']], {})"

# %%
child = subprocess.Popen([sys.executable, "-c", code], env={"SLEEP": SLEEP, "FOR": marker(4)})
record(4)

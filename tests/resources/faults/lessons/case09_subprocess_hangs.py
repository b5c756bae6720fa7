# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A child process hangs
#     level: beginner
#     minutes: 5
# ---

# %%
import subprocess
import sys

# %%
subprocess.run([sys.executable, "-c", "import time; time.sleep(600)"])

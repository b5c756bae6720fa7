# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Sleeper 2
#     level: beginner
#     minutes: 5
# ---

# %%
import subprocess
import sys
import time

# %%
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
time.sleep(600)

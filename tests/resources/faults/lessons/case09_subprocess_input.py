# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A child process reads stdin
#     level: beginner
#     minutes: 5
# ---

# %%
import subprocess
import sys

# %%
done = subprocess.run([sys.executable, "-c", "input()"], capture_output=True)

# %%
print("child exit status", done.returncode)

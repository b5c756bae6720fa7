# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A child with an empty environment in a session of its own
#     level: beginner
#     minutes: 5
# ---

# %%
import subprocess

from escape_tools import record, sleeper

# %%
child = subprocess.Popen(sleeper(1), env={}, start_new_session=True)
record(1)

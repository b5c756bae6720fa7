# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A tree that keeps forking while it is killed
#     level: beginner
#     minutes: 5
# ---

# %%
import subprocess
import sys

from escape_tools import SLEEP, marker, record

# Each forker leaves the session it was born in and keeps three children alive: one that dies is
# replaced at once. Two levels: 1 + 3 forkers and 9 sleepers, every one with the marker in argv.
code = """
import os, sys

def respawn(depth):
    os.setsid()
    children = set()
    while True:
        while len(children) < 3:
            pid = os.fork()
            if pid == 0:
                if depth:
                    respawn(depth - 1)
                os.execv(sys.argv[2], ["sleep", sys.argv[1]])
            children.add(pid)
        children.discard(os.wait()[0])

respawn(1)
"""

# %%
forker = subprocess.Popen([sys.executable, "-c", code, marker(6), SLEEP], env={})
record(6, at_least=1 + 3 + 9)

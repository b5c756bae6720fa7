# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A fast output flood
#     level: beginner
#     minutes: 5
# ---

# %%
import sys
line = "y" * 999 + "\n"
for _ in range(20_000):
    sys.stdout.write(line)
    sys.stdout.flush()

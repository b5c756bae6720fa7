# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Printing 50 MiB
#     level: beginner
#     minutes: 5
# ---

# %%
import sys
chunk = "z" * 1023 + "\n"

# %%
for _ in range(50 * 1024):
    sys.stdout.write(chunk)

# %%
print("still running")

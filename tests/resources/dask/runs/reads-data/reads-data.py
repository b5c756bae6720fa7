# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: reads-data
#     title: Reads its data
#     level: beginner
#     minutes: 5
# ---

# %%
from pathlib import Path

rows = Path("houses.csv").read_text().splitlines()
extra = Path("tables/rooms.csv").read_text().split()
print(len(rows), extra)

# %%
import os

assert os.environ["WK_SEED"] == "42", os.environ.get("WK_SEED")
Path("houses.csv").write_text("written by the lesson\n")  # its copy only

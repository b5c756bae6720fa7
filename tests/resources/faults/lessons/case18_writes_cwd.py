# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A lesson that writes files
#     level: beginner
#     minutes: 5
# ---

# %%
from pathlib import Path
Path("out.csv").write_text("a,b\n1,2\n")
Path("results").mkdir()
Path("results/model.txt").write_text("w=1")

# %%
assert Path("data.csv").read_text().startswith("x,y")
print(Path.cwd())

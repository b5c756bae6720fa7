# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A flood of display messages
#     level: beginner
#     minutes: 5
# ---

# %%
from IPython.display import display

# %%
for i in range(20_000):
    display({"text/plain": str(i)}, raw=True)

# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A lesson asks for input
#     level: beginner
#     minutes: 5
# ---

# %%
name = input("name? ")

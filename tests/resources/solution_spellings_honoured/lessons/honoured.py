# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Honoured spellings
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Every spelling here is honoured: no secret reaches learners

# %% tags=["exercise"]
def nbgrader_style(x):
    ### BEGIN SOLUTION
    return x + 1  # SECRET-NBGRADER
    ### END SOLUTION


# %% tags=["exercise"]
def lower_case(x):
    # begin solution
    return x + 2  # SECRET-LOWER
    # end solution


# %% tags=["exercise"]
# BEGIN SOLUTION (hint: one line)
with_hint = "SECRET-HINT"
# END SOLUTION

# %% tags=["exercise"]
# BEGIN SOLUTION 
no_break = "SECRET-NBSP"
# END SOLUTION

# %% tags=["exercise"]
# BEGIN　SOLUTION
ideographic = "SECRET-IDEOGRAPHIC"
# END  SOLUTION	

# %% tags=["Solution"]
print("SECRET-TAG-CAPITAL")

# %% tags=["solutions"]
print("SECRET-TAG-PLURAL")

# %% tags=["SOLUTION"]
print("SECRET-TAG-UPPER")

# %% tags=["soln"]
print("SECRET-TAG-SOLN")

# %% workshopkit={"solution": true}
print("SECRET-METADATA")

# %% nbgrader={"solution": true, "grade": false}
print("SECRET-NBGRADER-CELL")

# %% [markdown] slideshow={"slide_type": "notes"}
# SECRET-SPEAKER-NOTES: ask who has used nbgrader.

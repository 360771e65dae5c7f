"""Answer checks for the lessons' exercises, one module per lesson.

Each check computes the expected value from the library and returns a verdict
without printing that value, so running a check does not give the answer away.
"""

"""The HTTP edge shared by the API and the operators' page."""

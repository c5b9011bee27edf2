"""The HTTP edge shared by the API (app/api) and the operators' page (app/web):
authentication and authorization (auth), the mapping of errors to responses
(problems), security headers (headers) and request helpers (request). Neither
surface imports the other; both import this."""

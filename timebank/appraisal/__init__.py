"""Appraisal of in-service party members: report-ins, period reports to employers, their delivery and evaluation."""

"""Units at work in a community (双报到 of the unit's party organisation, 共建): the unit's report-in with its
resource list (资源清单) and co-building agreement (共建协议), contributions that are not hours, and the
community's yearly evaluation of the unit (双评议). The unit's appraisal letter reads it."""

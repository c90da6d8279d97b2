package web

func init() {
	for k, v := range serviceCatalog {
		catalog[k] = v
	}
	// An activity's category is free text, stored as written; the usual
	// ones (jifen.ActivityCategories) have a catalogue entry under their
	// Chinese name, and any other shows as it was typed.
	funcs["activityCategory"] = func(lang, c string) string {
		if _, ok := catalog["activity.category."+c]; ok {
			return tr(lang, "activity.category."+c)
		}
		return c
	}
}

// serviceCatalog is the UI text of volunteer service: activities,
// attendance, records, transfers and certificates.
var serviceCatalog = map[string][2]string{
	"nav.activities": {"志愿活动", "Activities"}, "nav.service": {"我的服务", "My service"},
	"nav.transfers": {"关系转接", "Transfers"}, "nav.corrections": {"更正申请", "Corrections"},
	"action.remove": {"移除", "Remove"},
	"nav.records":   {"服务台账", "Service records"}, "records.all_orgs": {"我管理的全部组织", "All my organisations"},
	"records.export": {"导出", "Export"}, "records.total": {"共 %d 条记录", "%d records"}, "records.content": {"服务内容", "Content"},
	"activity.checkin_here": {"签到 / 签退", "Check in / out"}, "activity.places_label": {"名额", "Places"},
	"checkin.code": {"签到码（大屏上的10位字母数字）", "Check-in code (10 characters on the screen)"},

	"activities.all": {"全部", "All"}, "activities.week": {"本周", "This week"}, "activities.skills": {"适合我的技能", "My skills"},
	"activities.mine": {"我报名的", "Mine"}, "activities.near": {"离我最近", "Near me"},
	"activities.any_category": {"所有类别", "Any category"}, "activities.new": {"发布新活动", "New activity"},
	"activities.none": {"暂无活动", "No activities"},

	"activity.cancel": {"取消活动", "Cancel the activity"}, "activity.cancelled_because": {"活动已取消：", "Cancelled: "},
	"activity.console": {"活动管理台", "Leader's console"}, "activity.edit": {"修改活动", "Edit activity"},
	"activity.leader": {"负责人操作", "For the leader"}, "activity.places": {"已报名 %d / %d 人", "%d of %d places taken"},
	"activity.signed": {"已报名 %d 人", "%d signed up"}, "activity.waitlisted": {"候补 %d 人", "%d waiting"},
	"activity.publish": {"发布活动", "Publish"}, "activity.publish_now": {"保存后立即发布", "Publish right away"},
	"activity.radius": {"%d米内可签到", "check-in within %d m"}, "activity.signup": {"我要报名", "Sign me up"},
	"activity.use_my_location": {"使用我当前的位置", "Use my current location"}, "activity.withdraw": {"取消报名", "Withdraw"},
	"activity.you_confirmed": {"您已报名成功", "You are signed up"}, "activity.you_waitlisted": {"您在候补名单中，有空位时会通知您", "You are on the waitlist; we will tell you when a place frees up"},

	"checkin.title": {"现场签到", "Check in on site"}, "checkin.in": {"签到", "Check in"}, "checkin.out": {"签退", "Check out"},
	"checkin.in_done": {"签到成功", "Checked in"}, "checkin.out_done": {"签退成功", "Checked out"},
	"checkin.location_hint": {"本活动需要确认您在现场，浏览器会请求定位权限，请选择“允许”。", "This activity checks you are on site: allow the browser to use your location."},
	"checkin.not_signed_up": {"您还没有报名成功这个活动，请先报名或请负责人添加。", "You are not confirmed for this activity: sign up first or ask the leader."},

	"console.add": {"添加", "Add"}, "console.camera": {"用相机扫描志愿者二维码", "Scan a volunteer's QR with the camera"}, "console.add_person": {"按志愿者编号添加报名", "Add a person by volunteer number"},
	"console.attendance": {"现场签到情况", "Attendance"}, "console.backfill": {"补录时长", "Back-fill time"},
	"console.backfill_hint": {"补录的时长会标注为“补录”，需填写原因，默认不计积分。", "Back-filled time is marked as such, needs a reason and by default earns no points."},
	"console.counts":        {"报名 %d 人，现在在场 %d 人", "%d signed up, %d present now"}, "console.forgot": {"忘记签退", "Forgot to check out"},
	"console.from": {"开始", "From"}, "console.to": {"结束", "To"}, "console.in": {"签到", "In"}, "console.out": {"签退", "Out"},
	"console.none": {"还没有人签到", "Nobody has checked in"}, "console.no_signups": {"还没有人报名", "Nobody has signed up"},
	"console.present": {"在场", "Present"}, "console.record": {"记录", "Record"},
	"console.scan":   {"扫描志愿者二维码或输入编号", "Scan a volunteer's code or type the number"},
	"console.screen": {"显示签到二维码", "Show the check-in code"}, "console.signups": {"报名名单", "Sign-ups"},
	"console.trim": {"修改时间", "Adjust"}, "console.verify": {"核验时长", "Verify hours"},
	"console.verify_hint": {"核验后，签到记录将生成正式的服务记录，不能再修改。", "Verifying turns attendance into final service records; they cannot change afterwards."},

	"screen.hint": {"请用手机相机扫码签到或签退", "Scan with your phone camera to check in or out"},
	"screen.alt":  {"签到二维码", "Check-in QR code"}, "screen.expires": {"二维码每30秒更新，本码有效至", "The code changes every 30 s; this one is valid until"},

	"corrections.accept": {"同意更正", "Accept"}, "corrections.reject": {"驳回", "Reject"},
	"corrections.answer": {"答复", "Answer"}, "corrections.change": {"申请把 %s 小时更正为 %s 小时", "Asks to change %s h to %s h"},
	"corrections.none": {"没有待处理的更正申请", "No correction requests waiting"},

	"field.capacity": {"人数上限（0为不限）", "Capacity (0: no limit)"}, "field.category": {"类别", "Category"},
	"field.description": {"说明", "Description"}, "field.starts_at": {"开始时间", "Starts"}, "field.ends_at": {"结束时间", "Ends"},
	"field.from": {"开始日期", "From"}, "field.to": {"结束日期", "To"}, "field.lat": {"纬度", "Latitude"}, "field.lon": {"经度", "Longitude"},
	"field.min_age": {"最低年龄", "Minimum age"}, "field.none": {"无", "None"}, "field.place": {"地点", "Place"},
	"field.points_per_hour": {"每小时积分", "Points per hour"}, "field.project": {"所属项目", "Project"},
	"field.radius_m": {"签到范围（米，0为不限）", "Check-in radius (m, 0: anywhere)"}, "field.reason": {"原因", "Reason"},
	"field.required_skills": {"所需技能", "Skills needed"}, "field.signup_deadline": {"报名截止", "Sign-up deadline"},
	"field.time": {"时间", "Time"},

	"project.activities": {"活动数", "Activities"}, "project.hours": {"服务时长（小时）", "Hours served"},
	"project.name": {"项目名称", "Project name"}, "project.new": {"新建志愿服务项目", "New project"}, "project.people": {"参与人数", "People"},

	"record.backfilled": {"补录", "Back-filled"}, "record.correction": {"更正", "Correction"}, "record.self": {"现场签到", "On site"},

	"certificate.issuer": {"出具单位", "Issued by"}, "certificate.home_org": {"所属组织（全部服务）", "Home org (all service)"},
	"certificate.issuer_help": {"谁记录谁证明：选择组织服务的单位，证明只列该单位及下属队伍记录的服务。",
		"Whoever recorded the service certifies it: a certificate from the org that ran the activities lists only what it and its teams recorded."},

	"service.ask_correction": {"记录有误？申请更正", "Wrong? Ask for a correction"}, "service.certificate": {"开具志愿服务证明", "Get a service certificate"},
	"service.download": {"生成并下载证明（PDF）", "Issue and download (PDF)"}, "service.hours_unit": {"小时", "h"},
	"service.next_star": {"累计满 %d 小时可升星", "Next star at %d hours"}, "service.no_records": {"还没有已核验的服务记录", "No verified service yet"},
	"service.no_signups": {"没有报名", "No sign-ups"}, "service.records": {"服务记录", "Service records"}, "service.signups": {"我的报名", "My sign-ups"},
	"service.split": {"其中现场签到 %s 小时，补录 %s 小时", "%s h on site, %s h back-filled"}, "service.stars": {"%d 星志愿者", "%d-star volunteer"},
	"service.wanted_hours": {"正确的时长（小时）", "Correct hours"},

	"signup.confirmed": {"已报名", "Confirmed"}, "signup.waitlisted": {"候补", "Waitlisted"}, "signup.cancelled": {"已取消", "Cancelled"},
	"transfer.pending": {"待审批", "Pending"}, "transfer.approved": {"已转入", "Approved"}, "transfer.rejected": {"未通过", "Rejected"},

	"transfers.consent": {"同意转接", "I agree"}, "transfers.decline": {"不同意", "I do not agree"},
	"transfers.ask_me":         {"等待您同意的转接", "Transfers waiting for your consent"},
	"transfers.awaits_consent": {"等待本人同意", "Waiting for the person's consent"},
	"transfers.approve":        {"同意转入", "Approve"}, "transfers.reject": {"不同意", "Reject"}, "transfers.bulk": {"批量转移人员", "Move people in bulk"},
	"transfers.bulk_numbers": {"志愿者编号（每行一个）", "Volunteer numbers (one per line)"}, "transfers.history": {"我的转接记录", "My transfers"},
	"transfers.none": {"没有转接记录", "No transfers"}, "transfers.pending": {"等待我审批的转入申请", "Transfers waiting for me"},
	"transfers.request": {"申请转到其他组织或志愿服务队", "Ask to move to another organisation or team"},
	"transfers.submit":  {"提交申请", "Send the request"}, "transfers.to": {"转入", "Move to"},

	"verify.title": {"志愿服务证明核验", "Certificate check"}, "verify.valid": {"✔ 此证明真实有效", "✔ This certificate is genuine"},
	"verify.invalid": {"未找到此证明，请核对二维码或编号", "No such certificate; check the code"}, "verify.serial": {"证明编号", "Number"},
	"verify.hours": {"服务时长", "Hours"}, "verify.period": {"服务期间", "Period"}, "verify.issuer": {"出具单位", "Issued by"},
	"verify.issued_at": {"出具日期", "Issued on"},

	"flash.published": {"活动已发布", "Published"}, "flash.cancelled": {"活动已取消，已通知报名人员", "Cancelled; everyone signed up was told"},
	"flash.signup_confirmed": {"报名成功", "You are signed up"}, "flash.signup_waitlisted": {"名额已满，您已进入候补名单", "Full: you are on the waitlist"},
	"flash.withdrawn": {"已取消报名", "Withdrawn"}, "flash.added": {"已添加", "Added"}, "flash.removed": {"已移除", "Removed"},
	"flash.scanned": {"已记录", "Recorded"}, "flash.backfilled": {"已补录", "Back-filled"},
	"flash.verified": {"已核验，服务记录已生成", "Verified: service records written"}, "flash.requested": {"申请已提交", "Request sent"},
	"flash.moved": {"已转移", "Moved"},

	"audit.project.create": {"创建项目", "Created project"}, "audit.activity.create": {"创建活动", "Created activity"},
	"audit.activity.update": {"修改活动", "Changed activity"}, "audit.activity.publish": {"发布活动", "Published activity"},
	"audit.activity.cancel": {"取消活动", "Cancelled activity"}, "audit.activity.verify": {"核验活动时长", "Verified activity"},
	"audit.signup.add": {"代为报名", "Added a sign-up"}, "audit.signup.remove": {"移除报名", "Removed a sign-up"},
	"audit.attendance.backfill": {"补录时长", "Back-filled time"}, "audit.attendance.trim": {"修改签到时间", "Adjusted attendance"},
	"audit.record.correction_request": {"申请更正记录", "Asked for a correction"}, "audit.record.correction_accepted": {"同意更正", "Accepted a correction"},
	"audit.record.correction_rejected": {"驳回更正", "Rejected a correction"}, "audit.record.correct": {"更正服务记录", "Corrected a record"},
	"audit.transfer.request": {"申请转接", "Asked for a transfer"}, "audit.transfer.approve": {"同意转入", "Approved a transfer"},
	"audit.transfer.reject": {"拒绝转入", "Rejected a transfer"}, "audit.transfer.out": {"人员转出", "Person moved out"},
	"audit.transfer.bulk": {"批量转移", "Bulk move"}, "audit.certificate.issue": {"开具证明", "Issued certificate"},
	"audit.transfer.consent": {"本人同意转接", "Agreed to a transfer"}, "audit.transfer.decline": {"本人不同意转接", "Declined a transfer"},

	"activity.category.学雷锋": {"学雷锋", "Learn from Lei Feng"}, "activity.category.无偿献血": {"无偿献血", "Blood donation"},
	"activity.category.环境整治": {"环境整治", "Clean-up"}, "activity.category.文明交通": {"文明交通", "Road safety"},
	"activity.category.关爱老人": {"关爱老人", "Caring for the elderly"}, "activity.category.关爱儿童": {"关爱儿童", "Caring for children"},
	"activity.category.助残帮困": {"助残帮困", "Helping the disabled and needy"}, "activity.category.社区服务": {"社区服务", "Community service"},
	"activity.category.文化宣传": {"文化宣传", "Culture and outreach"}, "activity.category.应急救援": {"应急救援", "Emergency relief"},
	"activity.category.移风易俗": {"移风易俗", "Modernising customs"}, "activity.category.其他": {"其他", "Other"},
}

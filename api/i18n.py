"""Thai and English for the portal: language choice and the message catalogue (amounts
and dates are written by ``core.formatting``)."""

from __future__ import annotations

from fastapi import Request

from catalog.taxonomy import Label
from core.formatting import Lang, long_date, thb, thb_range

__all__ = ["Lang", "choose_language", "long_date", "pick", "text_in", "thb", "thb_range"]


DEFAULT_LANG = Lang.th
LANG_COOKIE = "lang"


def choose_language(request: Request) -> Lang:
    """``?lang=`` first, then the cookie the switch set, then the browser, then Thai."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate is not None and candidate in Lang.__members__:
            return Lang(candidate)
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return Lang.en
    return DEFAULT_LANG


def pick(label: Label, lang: Lang) -> str:
    return label.th if lang is Lang.th else label.en


def text_in(th: str, en: str, lang: Lang) -> str:
    """The listing's text in ``lang``, falling back to the other language when empty."""
    first, second = (th, en) if lang is Lang.th else (en, th)
    return first or second


MESSAGES: dict[str, tuple[str, str]] = {
    # --- publishing
    "before_publishing": ("ตรวจก่อนเผยแพร่", "Before publishing"),
    "warnings_do_not_block": (
        "เผยแพร่ได้เลย แต่ผู้อ่านจะขาดข้อมูลเหล่านี้",
        "You may publish now, but readers will miss these",
    ),
    "ready_to_publish": ("ข้อมูลครบ พร้อมเผยแพร่", "Everything readers need is there"),
    "publish_anyway": ("เผยแพร่ทั้งที่ยังไม่ครบ", "Publish anyway"),
    "archive": ("ถอนออกจากการเผยแพร่", "Archive"),
    "archived_now": (
        "ถอนโครงการออกจากการเผยแพร่แล้ว เผยแพร่อีกครั้งได้ทุกเมื่อ",
        "Archived: you can publish it again at any time",
    ),
    # --- investors who fit a listing
    "investors_who_fit": ("นักลงทุนที่เหมาะกับโครงการ", "Investors who fit"),
    "fit_threshold": ("แสดงนักลงทุนที่คะแนนตั้งแต่ {score} ขึ้นไป", "Investors scoring {score} or more"),
    "investor": ("นักลงทุน", "Investor"),
    "score": ("คะแนน", "Score"),
    "why": ("เหตุผล", "Why"),
    "no_investor_fits": (
        "ยังไม่มีนักลงทุนที่เปิดเผยโปรไฟล์ซึ่งเหมาะกับโครงการนี้",
        "No discoverable investor fits this listing yet",
    ),
    "what_would_widen": ("สิ่งที่จะดึงดูดนักลงทุนได้มากขึ้น", "What would bring in more investors"),
    "no_gaps": ("ไม่พบการเปลี่ยนแปลงเดียวที่ช่วยได้", "No single change would bring in more"),
    # --- checkpoints and leads
    "checkpoints_due": ("การติดตามผลที่ครบกำหนดภายใน 30 วัน", "Checkpoints due in the next 30 days"),
    "nothing_due": ("ไม่มีการติดตามผลที่ต้องรายงาน", "Nothing to report"),
    "checkpoint_status": ("ความคืบหน้า", "Progress"),
    "checkpoint_note": ("บันทึก", "Note"),
    "evidence_link": ("ลิงก์หลักฐาน", "Evidence link"),
    "evidence": ("หลักฐาน", "Evidence"),
    "report_checkpoint": ("รายงานผล", "Report"),
    "checkpoint_reported": ("บันทึกรายงานการติดตามผลแล้ว", "Checkpoint reported"),
    "checkpoint_status_invalid": (
        "กรุณาเลือกความคืบหน้าจากรายการ",
        "Choose the progress from the list",
    ),
    "checkpoint_note_invalid": ("บันทึกยาวเกินไป", "The note is too long"),
    "checkpoint_evidence_url_invalid": (
        "ลิงก์ต้องขึ้นต้นด้วย http:// หรือ https://",
        "A link starts with http:// or https://",
    ),
    "checkpoint_not_found": (
        "ยังไม่มีการติดตามผลนี้ (เริ่มเมื่อเผยแพร่โครงการ)",
        "No such checkpoint yet (they start at publication)",
    ),
    "lead_saved": ("บันทึกข้อมูลผู้สนใจแล้ว", "Lead saved"),
    "export_csv": ("ดาวน์โหลดเป็นไฟล์ CSV", "Download as CSV"),
    "lead_column_listing": ("โครงการ", "Listing"),
    "lead_column_listing_slug": ("รหัสโครงการ", "Listing id"),
    "lead_column_investor_organisation": ("นักลงทุน", "Investor"),
    "lead_column_investor_profile": ("โปรไฟล์นักลงทุน", "Investor profile"),
    "lead_column_contact": ("ติดต่อ", "Contact"),
    "lead_column_date": ("วันที่แสดงความสนใจ", "Date"),
    "lead_column_status": ("สถานะ", "Status"),
    "lead_column_message": ("ข้อความจากนักลงทุน", "Message"),
    "lead_column_notes": ("บันทึกของเรา", "Our notes"),
    # --- people's accounts
    "email": ("อีเมล", "E-mail"),
    "password": ("รหัสผ่าน", "Password"),
    "forgot_password": ("ลืมรหัสผ่าน", "Forgot your password"),
    "sign_in_with_key": (
        "เข้าสู่ระบบด้วยคีย์ API (สำหรับระบบที่เชื่อมต่อ)",
        "Sign in with an API key (for integrations)",
    ),
    "required": ("กรุณากรอกช่องนี้", "Please fill in this field"),
    "wrong_email_or_password": ("อีเมลหรือรหัสผ่านไม่ถูกต้อง", "Wrong e-mail or password"),
    "unknown_key": ("ไม่รู้จักคีย์นี้ หรือคีย์ถูกเพิกถอนแล้ว", "Unknown or revoked key"),
    "too_many_sign_ins": (
        "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินไป กรุณาลองใหม่ในอีก {minutes} นาที",
        "Too many failed sign-ins; try again in {minutes} minutes",
    ),
    "set_password_invitation": ("ตั้งรหัสผ่านเพื่อเริ่มใช้งาน", "Set your password to join"),
    "set_password_reset": ("ตั้งรหัสผ่านใหม่", "Set a new password"),
    "account_for": ("บัญชีของ", "Account for"),
    "your_name": ("ชื่อของคุณ", "Your name"),
    "new_password": ("รหัสผ่านใหม่", "New password"),
    "password_again": ("ยืนยันรหัสผ่านอีกครั้ง", "The password again"),
    "password_rule": ("รหัสผ่านต้องยาวอย่างน้อย 10 ตัวอักษร", "At least 10 characters"),
    "passwords_differ": ("รหัสผ่านทั้งสองช่องไม่ตรงกัน", "The two passwords differ"),
    "save_password": ("บันทึกรหัสผ่าน", "Save the password"),
    "invitation_done": ("ตั้งรหัสผ่านเรียบร้อยแล้ว เข้าสู่ระบบได้เลย", "Your password is set: sign in"),
    "reset_done": (
        "เปลี่ยนรหัสผ่านเรียบร้อยแล้ว เข้าสู่ระบบด้วยรหัสผ่านใหม่",
        "Your password is changed: sign in with it",
    ),
    "reset_sent": (
        "หากอีเมลนี้มีบัญชีอยู่ ลิงก์สำหรับตั้งรหัสผ่านใหม่จะถูกส่งไปให้",
        "If the address has an account, a link to set a new password is on its way",
    ),
    "reset_help": (
        "หากองค์กรของคุณยังไม่ได้ตั้งค่าอีเมล ให้ขอลิงก์จากเจ้าของบัญชีองค์กร",
        "If your organisation has no e-mail set up, ask its owner for a link",
    ),
    "send_reset_link": ("ส่งลิงก์ตั้งรหัสผ่านใหม่", "Send a reset link"),
    "organisation": ("องค์กร", "Organisation"),
    "organisations": ("องค์กรทั้งหมด", "Organisations"),
    "members": ("สมาชิก", "Members"),
    "name": ("ชื่อ", "Name"),
    "role": ("บทบาท", "Role"),
    "actions": ("การดำเนินการ", "Actions"),
    "owner": ("เจ้าของบัญชีองค์กร", "owner"),
    "role_publisher": ("ผู้เผยแพร่โครงการ", "publisher"),
    "role_investor": ("นักลงทุน", "investor"),
    "role_organiser": ("ผู้จัดงาน", "organiser"),
    "role_admin": ("ผู้ดูแลระบบ", "admin"),
    "member_active": ("ใช้งานอยู่", "active"),
    "member_invited": ("ได้รับเชิญ ยังไม่ตั้งรหัสผ่าน", "invited, no password yet"),
    "make_reset_link": ("สร้างลิงก์ตั้งรหัสผ่านใหม่", "Make a reset link"),
    "invite_colleague": ("เชิญเพื่อนร่วมงาน", "Invite a colleague"),
    "also_owner": ("ให้เป็นเจ้าของบัญชีองค์กรด้วย (เชิญผู้อื่นได้)", "Also an owner (may invite others)"),
    "invite": ("ส่งคำเชิญ", "Invite"),
    "link": ("ลิงก์", "Link"),
    "background_jobs": ("งานเบื้องหลัง", "Background jobs"),
    "job_task": ("งาน", "Task"),
    "job_attempts": ("จำนวนครั้งที่ลอง", "Attempts"),
    "job_last_error": ("ข้อผิดพลาดล่าสุด", "Last error"),
    "job_queued": ("รอคิว", "queued"),
    "job_running": ("กำลังทำ", "running"),
    "job_done": ("เสร็จแล้ว", "done"),
    "job_failed": ("ล้มเหลว", "failed"),
    "no_jobs": ("ยังไม่มีงานเบื้องหลัง", "No background jobs yet"),
    "link_emailed": (
        "ส่งลิงก์ทางอีเมลไปที่ {email} แล้ว (ใช้ได้ครั้งเดียวและมีวันหมดอายุ)",
        "The link went by e-mail to {email} (it works once, and expires)",
    ),
    "link_to_pass_on": (
        "ส่งลิงก์นี้ให้ {email} (ใช้ได้ครั้งเดียวและมีวันหมดอายุ)",
        "Pass this link on to {email} (it works once, and expires)",
    ),
    "bad_email": ("รูปแบบอีเมลไม่ถูกต้อง", "Not an e-mail address"),
    "email_taken": ("อีเมลนี้มีบัญชีอยู่แล้ว", "Someone with this address already has an account"),
    "unknown_city": ("ไม่พบเมืองนี้", "No such city"),
    "not_allowed": ("คุณไม่มีสิทธิ์ทำรายการนี้", "You may not do this"),
    "api_keys": ("คีย์ API", "API keys"),
    "api_keys_help": (
        "คีย์สำหรับระบบที่เชื่อมต่อกับ citydeal ในนามองค์กร แสดงครั้งเดียวตอนสร้าง",
        "Keys let your systems use citydeal for the organisation; each is shown once",
    ),
    "key_label": ("ชื่อคีย์", "Label"),
    "key_prefix": ("รหัสนำหน้า", "Prefix"),
    "created": ("สร้างเมื่อ", "Created"),
    "last_used": ("ใช้ล่าสุด", "Last used"),
    "never": ("ยังไม่เคยใช้", "never"),
    "key_live": ("ใช้งานได้", "live"),
    "key_revoked": ("เพิกถอนแล้ว", "revoked"),
    "revoke": ("เพิกถอน", "Revoke"),
    "no_keys": ("ยังไม่มีคีย์", "No keys yet"),
    "create_key": ("สร้างคีย์ใหม่", "Create a key"),
    "key_shown_once": (
        "เก็บคีย์นี้ไว้ตอนนี้ ระบบจะไม่แสดงอีก",
        "Store this key now; it will not be shown again",
    ),
    "new_organisation": ("องค์กรใหม่และเจ้าของบัญชี", "A new organisation and its owner"),
    "org_name_th": ("ชื่อองค์กร (ภาษาไทย)", "Name in Thai"),
    "org_name_en": ("ชื่อองค์กร (ภาษาอังกฤษ)", "Name in English"),
    "org_kind": ("ประเภทองค์กร", "Kind"),
    "org_city": ("เมือง (สำหรับบริษัทพัฒนาเมืองและเทศบาล)", "City (city companies and municipalities)"),
    "owner_email": ("อีเมลของเจ้าของบัญชีองค์กร", "The owner's e-mail"),
    "owner_name": ("ชื่อเจ้าของบัญชีองค์กร", "The owner's name"),
    "create_and_invite": ("สร้างองค์กรและเชิญเจ้าของ", "Create and invite the owner"),
    "all_organisations": ("องค์กรในระบบ", "All organisations"),
    "kind_city-company": ("บริษัทพัฒนาเมือง", "city development company"),
    "kind_municipality": ("เทศบาล", "municipality"),
    "kind_investor": ("นักลงทุน", "investor"),
    "kind_organiser": ("ผู้จัดงาน", "event organiser"),
    "kind_platform": ("ผู้ดูแลแพลตฟอร์ม", "platform"),
    "site_name": ("ซิตี้ดีล", "citydeal"),
    "tagline": (
        "โอกาสการลงทุนในเมืองอัจฉริยะของไทย",
        "Investment opportunities in Thailand's smart cities",
    ),
    "search": ("ค้นหา", "Search"),
    "search_placeholder": (
        "เช่น ลูกชิ้นปลา, รถเมล์ไฟฟ้า, smart poles",
        "e.g. fish balls, electric bus, ลูกชิ้น",
    ),
    "results": ("โครงการ", "listings"),
    "no_results": ("ไม่พบโครงการที่ตรงกับการค้นหา", "No listings match your search"),
    "filters": ("ตัวกรอง", "Filters"),
    "clear_filters": ("ล้างตัวกรอง", "Clear filters"),
    "kind": ("ประเภท", "Kind"),
    "sector": ("ภาคธุรกิจ", "Sector"),
    "province": ("จังหวัด", "Province"),
    "city": ("เมือง", "City"),
    "stage": ("ระยะโครงการ", "Stage"),
    "model": ("รูปแบบการลงทุน", "Investment model"),
    "ticket": ("วงเงินลงทุน (บาท)", "Ticket (THB)"),
    "ticket_min": ("ตั้งแต่", "From"),
    "ticket_max": ("ถึง", "To"),
    "apply": ("ใช้ตัวกรอง", "Apply"),
    "sort": ("เรียงตาม", "Sort by"),
    "sort_relevance": ("ความเกี่ยวข้อง", "Relevance"),
    "sort_newest": ("ล่าสุด", "Newest"),
    "sort_capital_asc": ("เงินลงทุนน้อยไปมาก", "Capital, low to high"),
    "sort_capital_desc": ("เงินลงทุนมากไปน้อย", "Capital, high to low"),
    "previous": ("ก่อนหน้า", "Previous"),
    "next": ("ถัดไป", "Next"),
    "page_of": ("หน้า {page} จาก {pages}", "Page {page} of {pages}"),
    "capital": ("เงินลงทุน", "Capital"),
    "models": ("รูปแบบการลงทุน", "Investment models"),
    "irr": ("ผลตอบแทน (IRR)", "Expected IRR"),
    "payback": ("ระยะคืนทุน", "Payback"),
    "years": ("ปี", "years"),
    "not_stated": ("ไม่ระบุ", "not stated"),
    "story": ("รายละเอียดโครงการ", "The opportunity"),
    "location": ("ที่ตั้ง", "Location"),
    "smart_block": ("ย่านเมืองอัจฉริยะ", "Smart block"),
    "open_map": ("ดูแผนที่", "Open the map"),
    "how_to_invest": ("ขั้นตอนการลงทุน", "How to invest"),
    "office": ("หน่วยงาน", "Office"),
    "permit": ("ใบอนุญาต", "Permit"),
    "typical_days": ("ระยะเวลาโดยประมาณ", "Typical time"),
    "days": ("วัน", "days"),
    "last_verified": ("ตรวจสอบล่าสุด", "Last verified"),
    "incentives": ("สิทธิประโยชน์", "Incentives"),
    "documents": ("เอกสาร", "Documents"),
    "contacts": ("ผู้ประสานงาน", "Contacts"),
    "checkpoints": ("การติดตามผล", "Checkpoints"),
    "checkpoint_months": ("ติดตามผล {months} เดือน", "{months}-month checkpoint"),
    "due": ("กำหนด", "Due"),
    "related": ("โครงการที่เกี่ยวข้อง", "Related listings"),
    "your_match": ("ความเหมาะสมกับโปรไฟล์ของคุณ", "Fit with your profile"),
    "removed_by": ("ไม่ผ่านเงื่อนไขของคุณ", "Outside your hard limits"),
    "published": ("เผยแพร่เมื่อ", "Published"),
    "by": ("โดย", "by"),
    "city_listings": ("โครงการในเมือง", "Listings in the city"),
    "smart_blocks": ("ย่านเมืองอัจฉริยะ", "Smart blocks"),
    "checkpoint_progress": ("ความคืบหน้าการติดตามผล", "Checkpoint progress"),
    "pilot_city": ("เมืองนำร่อง", "Pilot city"),
    "charter_city": ("เมืองในกลุ่มกฎบัตร", "Charter city"),
    "cities": ("เมือง", "Cities"),
    "sign_in": ("เข้าสู่ระบบ", "Sign in"),
    "sign_out": ("ออกจากระบบ", "Sign out"),
    "api_key": ("คีย์ API ขององค์กร", "Your organisation's API key"),
    "dashboard": ("แผงควบคุม", "Dashboard"),
    "my_listings": ("โครงการของฉัน", "My listings"),
    "leads": ("ผู้สนใจลงทุน", "Leads"),
    "no_leads": ("ยังไม่มีผู้แสดงความสนใจ", "No expressions of interest yet"),
    "edit": ("แก้ไข", "Edit"),
    "save": ("บันทึก", "Save"),
    "publish": ("เผยแพร่", "Publish"),
    "status": ("สถานะ", "Status"),
    "status_draft": ("ฉบับร่าง", "Draft"),
    "status_published": ("เผยแพร่แล้ว", "Published"),
    "status_archived": ("เก็บถาวร", "Archived"),
    "saved": ("บันทึกแล้ว", "Saved"),
    "published_now": ("เผยแพร่โครงการแล้ว", "The listing is published"),
    "title_th": ("ชื่อโครงการ (ไทย)", "Title (Thai)"),
    "title_en": ("ชื่อโครงการ (อังกฤษ)", "Title (English)"),
    "summary_th": ("สรุป (ไทย)", "Summary (Thai)"),
    "summary_en": ("สรุป (อังกฤษ)", "Summary (English)"),
    "description_th": ("รายละเอียด (ไทย)", "Description (Thai)"),
    "description_en": ("รายละเอียด (อังกฤษ)", "Description (English)"),
    "capital_min_thb": ("เงินลงทุนขั้นต่ำ (บาท)", "Capital from (THB)"),
    "capital_max_thb": ("เงินลงทุนสูงสุด (บาท)", "Capital to (THB)"),
    "error_title": ("เกิดข้อผิดพลาด", "Something is wrong"),
    "back_home": ("กลับหน้าแรก", "Back to the catalogue"),
    "language": ("ภาษา", "Language"),
    "switch_language": ("English", "ภาษาไทย"),
    "skip_to_content": ("ข้ามไปยังเนื้อหา", "Skip to content"),
    "all": ("ทั้งหมด", "All"),
    "infrastructure_and_trade": ("โครงสร้างพื้นฐานและการค้า", "Infrastructure and trade"),
    "events": ("วันนำเสนอโครงการ", "Pitch days"),
    "pitching_count": ("{count} โครงการนำเสนอ", "{count} listings pitching"),
    "no_events": ("ยังไม่มีกำหนดการวันนำเสนอโครงการ", "No pitch days are planned yet"),
    "pitching": ("โครงการที่นำเสนอ", "Listings pitching"),
    "print_booklet": ("สมุดโครงการสำหรับพิมพ์", "Printable booklet"),
    "booklet": ("สมุดโครงการ", "Booklet"),
    "print": ("พิมพ์", "Print"),
    "meeting_schedule": ("ตารางนัดพบแบบตัวต่อตัว", "One-to-one meeting schedule"),
    "investors_attending": ("นักลงทุนเข้าร่วม {count} ราย", "{count} investors attending"),
    "slots_of": ("{count} ช่วง ช่วงละ {minutes} นาที", "{count} slots of {minutes} minutes"),
    "time": ("เวลา", "Time"),
    "private_investor": ("นักลงทุน (ไม่เปิดเผยชื่อ)", "Investor (name not shown)"),
    "no_schedule_yet": (
        "ผู้จัดงานยังไม่ได้จัดตารางนัดพบ",
        "The organiser has not planned the meetings yet",
    ),
    "meetings": ("นัดพบ", "Meetings"),
    "no_meetings": ("ยังไม่มีนัดพบ", "No meetings planned"),
    "full_pitch_page": ("หน้าโครงการฉบับเต็ม", "Full pitch page"),
    "shortlist": ("รายชื่อคู่นัดพบที่เหมาะสม", "Shortlist"),
    "shortlist_help": (
        "นักลงทุนที่เข้าร่วมและเหมาะกับแต่ละโครงการ คะแนนตั้งแต่ {score} ขึ้นไป เรียงจากเหมาะที่สุด",
        "Attending investors who fit each listing, scoring {score} or more, best first",
    ),
    "no_shortlist": ("ยังไม่มีคู่ที่เหมาะสม", "No pairs fit yet"),
    "min_score": ("คะแนนขั้นต่ำสำหรับนัดพบ", "Lowest score worth a meeting"),
    "plan_meetings": ("จัดตารางนัดพบใหม่", "Plan the meetings"),
    "notice_scheduled": ("จัดตารางนัดพบแล้ว", "The meetings are planned"),
    "conflict_title": (
        "มีผู้อื่นแก้ไขโครงการนี้ระหว่างที่คุณแก้ไข",
        "Someone else changed this listing while you were editing",
    ),
    "conflict_help": (
        "ยังไม่ได้บันทึกการแก้ไขของคุณ ตรวจสอบช่องที่ถูกเปลี่ยน เลือกว่าจะใช้ค่าใดในแต่ละช่อง แล้วกดบันทึกอีกครั้ง",
        "Your changes are not saved yet. Check each field changed meanwhile, choose which "
        "value to keep, then save again.",
    ),
    "conflict_none": (
        "ช่องในแบบฟอร์มนี้ไม่มีการเปลี่ยนแปลงที่ขัดกัน กดบันทึกอีกครั้งเพื่อยืนยัน",
        "None of the fields on this form conflict; save again to confirm.",
    ),
    "field": ("ช่อง", "Field"),
    "value_before": ("ค่าเดิม", "Before"),
    "value_theirs": ("ค่าที่ผู้อื่นบันทึก", "Saved by someone else"),
    "value_mine": ("ค่าที่คุณพิมพ์", "What you typed"),
    "take_theirs": ("ใช้ค่าที่ผู้อื่นบันทึก", "Take theirs"),
    "keep_mine": ("ใช้ค่าของฉัน", "Keep mine"),
    "choose_one": ("โปรดเลือกค่าที่จะใช้", "Choose which value to keep"),
    "showing_results_for": ("แสดงผลสำหรับ", "Showing results for"),
    "words_left_out": ("คำที่ไม่ได้ใช้ค้นหา", "words left out"),
    "close_in_meaning": (
        "รวมโครงการที่มีความหมายใกล้เคียงกับคำค้น แม้เขียนด้วยภาษาอื่นหรือใช้คำอื่น",
        "including listings close in meaning, even in another language or other words",
    ),
    "most_words_first": (
        "ไม่มีโครงการที่มีครบทุกคำ จึงแสดงโครงการที่มีคำตรงมากที่สุดก่อน",
        "no listing has every word: those with the most come first",
    ),
}


def translate(key: str, lang: Lang, **values: object) -> str:
    th, en = MESSAGES[key]
    text = th if lang is Lang.th else en
    return text.format(**values) if values else text

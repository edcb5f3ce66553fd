"""The words for the codes that services and pages hand over (a refusal reason, a notice,
a status, a field's name). The English is the message id, marked here for
``pybabel extract``; the Thai lives in ``api/locales/th/LC_MESSAGES/messages.po``."""

from __future__ import annotations

from typing import NamedTuple


class Contextual(NamedTuple):
    """A message whose English alone is ambiguous ("Role" of a contact or of a member)."""

    context: str
    message: str


def N_(message: str) -> str:
    """Marks ``message`` for extraction; translated when shown."""
    return message


def NP_(context: str, message: str) -> Contextual:
    """Marks ``message`` with its context for extraction; translated when shown."""
    return Contextual(context, message)


MESSAGES: dict[str, str | Contextual] = {
    "leads_by_status": N_("Leads by status"),
    "formula_not_allowed": N_("A formula is not allowed: type the value"),
    "empty_file": N_("The file is empty"),
    "no_header": N_("No header row: use the template from this page"),
    "too_many_rows": N_("Too many rows (at most 500 a file)"),
    "not_utf8": N_("The file is not UTF-8: save it as CSV UTF-8 or XLSX"),
    "not_a_spreadsheet": N_("Cannot read this file: use CSV or XLSX"),
    "expected_irr_pct": N_("Expected IRR (%%)"),
    "payback_years": N_("Payback (years)"),
    "investment_models": N_("Investment models accepted"),
    "add_incentives": N_("Add an incentive"),
    "add_documents": N_("Add a document"),
    "add_contacts": N_("Add a contact"),
    "add_how_to_invest": N_("Add a step"),
    "incentives_title_th": N_("Incentive (Thai)"),
    "incentives_title_en": N_("Incentive (English)"),
    "incentives_detail_th": N_("Detail (Thai)"),
    "incentives_detail_en": N_("Detail (English)"),
    "documents_title": N_("Document title"),
    "documents_url": NP_("document", "Link"),
    "contacts_name": N_("Name"),
    "contacts_name_latin": N_("Name in Latin script (for readers of English)"),
    "contacts_role": NP_("contact", "Role"),
    "contacts_organisation": NP_("contact", "Organisation"),
    "contacts_email": N_("E-mail"),
    "contacts_phone": N_("Phone"),
    "how_to_invest_title_th": N_("Step (Thai)"),
    "how_to_invest_title_en": N_("Step (English)"),
    "how_to_invest_detail_th": N_("Detail (Thai)"),
    "how_to_invest_detail_en": N_("Detail (English)"),
    "how_to_invest_office": NP_("step", "Office"),
    "how_to_invest_permit": N_("Permit"),
    "how_to_invest_typical_days": N_("Typical days"),
    "how_to_invest_last_verified": N_("Last verified on"),
    "too_long": N_("Too long"),
    "too_many": N_("Too many items"),
    "not_a_number": N_("Must be a number"),
    "not_a_whole_number": N_("Must be a whole number"),
    "too_small": N_("Too small"),
    "too_large": N_("Too large"),
    "bad_url": N_("A link starts with http:// or https://"),
    "bad_value": N_("This value is not valid"),
    "bad_date": N_("Not a date (year-month-day)"),
    "choose_from_list": N_("Choose from the list"),
    "unknown_smart_block": N_("This smart block is not in the city chosen"),
    "slug_taken": N_("This id is taken"),
    "min_above_max": N_("The minimum is above the maximum"),
    "archive": N_("Archive"),
    "archived_now": N_("Archived: you can publish it again at any time"),
    "investor": N_("Investor"),
    "checkpoint_not_found": N_("No such checkpoint yet (they start at publication)"),
    "lead_column_listing": N_("Listing"),
    "lead_column_listing_slug": N_("Listing id"),
    "lead_column_investor_organisation": N_("Investor"),
    "lead_column_investor_profile": N_("Investor profile"),
    "lead_column_contact": N_("Contact"),
    "lead_column_date": N_("Date"),
    "lead_column_status": N_("Status"),
    "lead_column_message": N_("Message"),
    "lead_column_notes": N_("Our notes"),
    "email": N_("E-mail"),
    "password": N_("Password"),
    "required": N_("Please fill in this field"),
    "wrong_email_or_password": N_("Wrong e-mail or password"),
    "unknown_key": N_("Unknown or revoked key"),
    "too_many_sign_ins": N_("Too many failed sign-ins; try again in %(minutes)s minutes"),
    "set_password_invitation": N_("Set your password to join"),
    "set_password_reset": N_("Set a new password"),
    "password_again": N_("The password again"),
    "password_rule": N_("At least 10 characters"),
    "passwords_differ": N_("The two passwords differ"),
    "invitation_done": N_("Your password is set: sign in"),
    "reset_done": N_("Your password is changed: sign in with it"),
    "organisation": N_("Organisation"),
    "organisations": N_("Organisations"),
    "members": N_("Members"),
    "name": N_("Name"),
    "role": N_("Role"),
    "role_publisher": N_("publisher"),
    "role_investor": N_("investor"),
    "role_organiser": N_("organiser"),
    "role_admin": N_("admin"),
    "audit_listing": N_("Listing"),
    "audit_listing_model": N_("Listing's investment model"),
    "audit_listing_step": N_("Step to invest"),
    "audit_checkpoint": N_("Checkpoint"),
    "audit_lead": N_("Lead"),
    "audit_investor_profile": N_("Investor profile"),
    "audit_event": N_("Pitch day"),
    "audit_event_pitch": N_("Pitching listing"),
    "audit_event_attendee": N_("Attending investor"),
    "audit_event_candidate": N_("Pitch candidate"),
    "audit_meeting": N_("Meeting"),
    "audit_meeting_request": N_("Meeting request"),
    "audit_membership": N_("Member"),
    "audit_api_key": N_("API key"),
    "audit_organisation": N_("Organisation"),
    "audit_created": N_("created"),
    "audit_changed": N_("changed"),
    "audit_deleted": N_("deleted"),
    "audit_source_api": N_("API"),
    "audit_source_portal": N_("portal"),
    "audit_source_cli": N_("command line"),
    "audit_source_job": N_("background job"),
    "audit_source_system": N_("system"),
    "link": N_("Link"),
    "job_task": N_("Task"),
    "job_attempts": N_("Attempts"),
    "job_last_error": N_("Last error"),
    "job_queued": N_("queued"),
    "job_running": N_("running"),
    "job_done": N_("done"),
    "job_failed": N_("failed"),
    "bad_email": N_("Not an e-mail address"),
    "email_taken": N_("Someone with this address already has an account"),
    "unknown_city": N_("No such city"),
    "not_allowed": N_("You may not do this"),
    "org_name_th": N_("Name in Thai"),
    "org_name_en": N_("Name in English"),
    "org_kind": NP_("organisation", "Kind"),
    "org_city": N_("City (city companies and municipalities)"),
    "owner_email": N_("The owner's e-mail"),
    "owner_name": N_("The owner's name"),
    "kind_city-company": N_("city development company"),
    "kind_municipality": N_("municipality"),
    "kind_investor": N_("investor"),
    "kind_organiser": N_("event organiser"),
    "kind_platform": N_("platform"),
    "search": N_("Search"),
    "kind": N_("Kind"),
    "sector": N_("Sector"),
    "province": N_("Province"),
    "city": N_("City"),
    "stage": N_("Stage"),
    "model": N_("Investment model"),
    "sort": N_("Sort by"),
    "sort_relevance": N_("Relevance"),
    "sort_newest": N_("Newest"),
    "sort_capital_asc": N_("Capital, low to high"),
    "sort_capital_desc": N_("Capital, high to low"),
    "capital": N_("Capital"),
    "models": N_("Investment models"),
    "location": N_("Location"),
    "smart_block": N_("Smart block"),
    "how_to_invest": N_("How to invest"),
    "office": N_("Office"),
    "permit": N_("Permit"),
    "typical_days": N_("Typical time"),
    "last_verified": N_("Last verified"),
    "incentives": N_("Incentives"),
    "documents": N_("Documents"),
    "contacts": N_("Contacts"),
    "checkpoints": N_("Checkpoints"),
    "due": N_("Due"),
    "related": N_("Related listings"),
    "published": N_("Published"),
    "cities": N_("Cities"),
    "api_key": N_("Your organisation's API key"),
    "leads": N_("Leads"),
    "edit": N_("Edit"),
    "save": N_("Save"),
    "publish": N_("Publish"),
    "status": N_("Status"),
    "status_draft": NP_("listing status", "Draft"),
    "status_published": NP_("listing status", "Published"),
    "status_archived": NP_("listing status", "Archived"),
    "published_now": N_("The listing is published"),
    "title_th": N_("Title (Thai)"),
    "title_en": N_("Title (English)"),
    "summary_th": N_("Summary (Thai)"),
    "summary_en": N_("Summary (English)"),
    "description_th": N_("Description (Thai)"),
    "description_en": N_("Description (English)"),
    "capital_min_thb": N_("Capital from (THB)"),
    "capital_max_thb": N_("Capital to (THB)"),
    "all": N_("All"),
    "events": N_("Pitch days"),
    "meetings": N_("Meetings"),
    "shortlist": N_("Shortlist"),
    "min_score": N_("Lowest score worth a meeting"),
    "field": N_("Field"),
    "choose_one": N_("Choose which value to keep"),
    # --- notices after a redirect, and the checkpoint form's refusals
    "saved": N_("Saved"),
    "lead_saved": N_("Lead saved"),
    "checkpoint_reported": N_("Checkpoint reported"),
    "checkpoint_status_invalid": N_("Choose the progress from the list"),
    "checkpoint_note_invalid": N_("The note is too long"),
    "checkpoint_evidence_url_invalid": N_("A link starts with http:// or https://"),
    # --- the catalogue's ticket range, left out of the search while it has a mistake
    "ticket_not_an_amount": N_(
        "Type an amount in baht, a whole number from 0: the ticket range is left out of "
        "the search until then"
    ),
    "ticket_range_reversed": N_(
        "“To” is below “From”: the ticket range is left out of the search until you correct it"
    ),
    # --- saved searches and their alerts
    "saved_search_created": N_(
        "Search saved. Listings published from now on are marked new here, and appear in its feed"
    ),
    "saved_search_updated": N_("Saved search updated"),
    "saved_search_deleted": N_("Saved search deleted"),
    "feed_replaced": N_("New feed address made: the old one no longer works"),
    "saved_search_conflict": N_(
        "This saved search was changed elsewhere (in another tab or on another device) "
        "after this page was shown. It is shown below as it is now, with what you typed: "
        "send it again to apply your change."
    ),
    "saved_search_gone_conflict": N_(
        "This saved search was changed elsewhere after this page was shown. It is shown "
        "below as it is now: check it, then try again."
    ),
    "too_many_saved_searches": N_("You have the most saved searches allowed: delete one first"),
    "not_your_profile": N_("Choose one of your organisation's investor profiles"),
    "frequency_none": NP_("digest frequency", "Never"),
    "frequency_daily": NP_("digest frequency", "Daily"),
    "frequency_weekly": NP_("digest frequency", "Weekly"),
    # --- the investor's workplace
    "investor_type_corporate": N_("Corporate"),
    "investor_type_fund": N_("Fund"),
    "investor_type_family-office": N_("Family office"),
    "investor_type_sme": N_("SME"),
    "investor_type_angel": N_("Angel investor"),
    "investor_type_dfi": N_("Development finance institution"),
    "investor_type_public-agency": N_("Public agency"),
    "not_an_amount": N_("Write an amount, such as 10M, 10 ล้าน or 10,000,000"),
    "live_count": N_(
        "%(passing)s published listings pass your hard limits; %(matching)s of them score "
        "enough to show as matches"
    ),
    # --- the organiser's workplace
    "rounds_overlap_pitches": N_("The meeting rounds overlap the pitch slots: start them later"),
    "rounds_end_after_midnight": N_("The meeting rounds must end by midnight"),
    "pitches_end_after_midnight": N_("The pitch slots must end by midnight"),
    "deadline_after_the_day": N_("Registration must close by the day of the event"),
    "event_changed_meanwhile": N_(
        "Someone changed this pitch day while you were editing. What you typed is kept "
        "below; check it and save again to replace their version."
    ),
    # --- meetings people ask for at a pitch day, and the schedule planned from them
    "meeting_source_mutual": N_("Both asked"),
    "meeting_source_request": N_("Asked and accepted"),
    "meeting_source_proposal": N_("Proposed by the organiser"),
    "meeting_source_asked": N_("Asked to meet you"),
    "meeting_status_pending": N_("Waiting for an answer"),
    "meeting_status_accepted": N_("Accepted"),
    "meeting_status_declined": N_("Declined"),
    "meeting_state_mutual": N_("You both asked: the meeting is agreed"),
    "meeting_state_you_asked_pending": N_("You asked: waiting for their answer"),
    "meeting_state_you_asked_accepted": N_("You asked, and they accepted"),
    "meeting_state_they_asked_pending": N_(
        "They asked to meet you: answer under “Requests to you”"
    ),
    "meeting_state_they_asked_accepted": N_("They asked, and you accepted"),
    "meeting_state_proposed": N_("The organiser proposed this meeting"),
    "meeting_state_declined": N_("Declined: no meeting"),
    "unplaced_no_common_round": N_("No round both attend"),
    "unplaced_tables_full": N_("The tables are full in every round both attend"),
    "unplaced_fully_booked": N_("One of the two is booked in every round both attend"),
    "unplaced_not_attending": N_("One of the two no longer takes part"),
    "meeting_rounds_none": N_("Tick at least one round"),
    "meeting_note_too_long": N_("A note has at most 500 characters"),
    "meeting_already_asked": N_("You have already asked for this meeting"),
    "meeting_not_attending": N_("They no longer take part in this event: reload the page"),
    "meeting_yourself": N_("Both sides are your own organisation: you cannot ask to meet yourself"),
    "meeting_event_changed": N_(
        "The pitch day changed meanwhile: this page now shows it as it is. Check, then try again."
    ),
    "meeting_outcomes_recorded": N_(
        "Outcomes of the meetings are recorded: planning again would lose them"
    ),
    "meeting_availability_saved": N_("Your rounds are saved"),
    "meeting_request_sent": N_("Your request is sent"),
    "meeting_request_agreed": N_("They had asked you too: the meeting is agreed"),
    "meeting_request_accepted": N_("You accepted the request"),
    "meeting_request_declined": N_("You declined: there will be no meeting"),
    "meeting_pairs_proposed": N_("Pairs proposed by score: %(num)s"),
    "meeting_planned": N_("The meetings are planned"),
    # --- error pages, by the error's code
    "error_bad_request": N_("The request could not be understood."),
    "error_validation_error": N_(
        "A value sent is not valid. Go back, check the form and try again."
    ),
    "error_not_found": N_("This page does not exist, or is no longer published."),
    "error_method_not_allowed": N_("This page cannot be used that way."),
    "error_unauthorized": N_("Please sign in to see this page."),
    "error_forbidden": N_("Your account may not see or change this."),
    "error_conflict": N_("This conflicts with a change saved meanwhile. Reload and try again."),
    "error_precondition_failed": N_(
        "Someone else changed this meanwhile. Reload to see their change, then try again."
    ),
    "error_precondition_required": N_("Reload the page and try again."),
    "error_too_many_requests": N_("Too many attempts. Wait a few minutes and try again."),
    "error_service_unavailable": N_("This part of the service is busy. Try again in a moment."),
    "error_database_unavailable": N_(
        "The service cannot reach its database just now. Try again in a moment."
    ),
    "error_server_busy": N_("The service is very busy just now. Try again in a moment."),
    "error_search_unavailable": N_(
        "Search is being rebuilt and will be back shortly. The rest of the site works: "
        "try again in a minute."
    ),
    "error_matching_unavailable": N_(
        "Matching is being prepared and will be back shortly. The rest of the site works: "
        "try again in a minute."
    ),
    # --- the shortlist, comparisons, and indicative amounts in foreign money
    "fx_indicative": N_("≈ %(amount)s (indicative, at %(rate)s THB per %(currency)s on %(date)s)"),
    "fx_rate_set": N_("Rate saved: indicative amounts use it from now on"),
    "fx_rate_implausible": N_(
        "Far from any rate of recent years: give the baht for one unit of the currency"
    ),
    "fx_date_future": N_("A rate cannot be dated in the future"),
    "shortlist_removed": N_("Taken off your shortlist"),
    "compare_count": N_("Choose 2 to 4 different listings to compare (%(given)s chosen)"),
    "compare_not_found": N_("This listing is not published, or no longer is"),
    # --- the day of a pitch day: agendas, check-in, outcomes, figures
    "agenda_column_round": N_("Round"),
    "agenda_column_start": N_("Starts"),
    "agenda_column_end": N_("Ends"),
    "agenda_column_table": N_("Table"),
    "agenda_column_with": N_("Meeting with"),
    "agenda_column_outcome": N_("Outcome"),
    "agenda_column_note": N_("Note"),
    "investor_name_hidden": N_("Investor (name not shown)"),
    "outcome_no-show": N_("No show"),
    "outcome_met": N_("Met"),
    "outcome_follow-up": N_("Follow-up agreed"),
    "outcome_letter-of-intent": N_("Letter of intent"),
    "outcome_too_early": N_("Outcomes are recorded from the day of the event"),
    "outcome_saved": N_("Outcome saved"),
    "outcome_lead_made": N_("Outcome saved: it is now a lead of the listing"),
    "schedule_published": N_(
        "The schedule is published: participants see their meetings in their agendas"
    ),
    "schedule_published_mailed": N_(
        "The schedule is published, and %(num)s agenda e-mails are on their way"
    ),
    "schedule_nothing_planned": N_("Plan the meetings before publishing them"),
    "feed_rotated": N_("A new calendar link is made: the old one no longer works"),
    "no_shows_recorded": N_("Meetings marked no-show: %(num)s"),
    "figures_column_group": N_("Group"),
    "figures_column_name": N_("Name"),
    "figures_column_planned": N_("Meetings planned"),
    "figures_column_held": N_("Meetings held"),
    "figures_column_no_shows": N_("No-shows"),
    "figures_column_follow_ups": N_("Follow-ups agreed"),
    "figures_column_letters_of_intent": N_("Letters of intent"),
    "figures_column_unrecorded": N_("Not yet recorded"),
    "figures_group_all": N_("All"),
    "figures_group_city": N_("City"),
    "figures_group_sector": N_("Sector"),
    # --- choosing who pitches: the candidate pool and the selection
    "not_a_published_listing": N_("No published listing at this address"),
    "nothing_to_add": N_("Choose a filter or paste a listing's address"),
    "pool_too_large": N_("Too many listings (a pool holds at most 500): narrow the filters"),
    "pinned_and_excluded": N_("A listing cannot be both pinned and excluded"),
    "too_many_pinned": N_("More listings are pinned than there are pitch slots"),
    "rule_needs_more_slots": N_("The pitch slots are too few for this rule"),
}

"""The aidants' forms (WTForms): server-side validation, French messages next to each field."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms import i18n as wtforms_i18n
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..services.call_notes import PARTY_FR
from ..services.people import SLOTS_FR, WEEKDAYS_FR, InvalidPhone, normalize_phone
from ..services.rides import PURPOSE_FR

REQUIRED = "Ce champ est obligatoire."


def as_choices(items: Any) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs, or from (group label, [pairs]) groups."""
    out: list[SelectChoice] = []
    for item in items:
        if isinstance(item, SelectChoice):
            out.append(item)
        elif isinstance(item[1], list):
            out.extend(SelectChoice(value, label, optgroup=item[0]) for value, label in item[1])
        else:
            out.append(SelectChoice(item[0], item[1]))
    return out


_FRENCH = wtforms_i18n.get_translations(["fr_FR", "fr"])


class FrenchForm(FlaskForm):
    """A Flask-WTF form whose built-in messages (invalid choice, number, date…) are French."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            return _FRENCH


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class CommaDecimalField(DecimalField):
    """A decimal typed the French way (44,45) or the English way (44.45)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata([v.replace(",", ".").strip() if isinstance(v, str) else v for v in valuelist])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PhoneField(StringField):
    """A French phone number, normalised to E.164 in ``e164`` on validation."""

    def __init__(self, *args: Any, mobile_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mobile_only = mobile_only
        self.e164: str | None = None

    def pre_validate(self, form: Any) -> None:
        self.e164 = None
        if self.data:
            try:
                self.e164 = normalize_phone(self.data, mobile_only=self.mobile_only)
            except InvalidPhone as exc:
                raise ValidationError(str(exc)) from exc


class PersonFields(FrenchForm):
    """Fields shared by beneficiaries and drivers."""

    first_name = StringField("Prénom", filters=[_strip], validators=[
        DataRequired("Indiquez le prénom."), Length(max=100, message="100 caractères au plus.")])
    last_name = StringField("Nom", filters=[_strip], validators=[
        DataRequired("Indiquez le nom."), Length(max=100, message="100 caractères au plus.")])
    home_commune = SelectField("Commune du domicile", validators=[DataRequired("Choisissez la commune du domicile.")])
    home_address = StringField("Adresse (facultatif)", filters=[_strip],
                               validators=[Optional(), Length(max=300, message="300 caractères au plus.")])
    home_lat = CommaDecimalField("Latitude du domicile (facultatif)", places=6,
                            validators=[Optional(), NumberRange(-90, 90, "Latitude entre -90 et 90.")])
    home_lon = CommaDecimalField("Longitude du domicile (facultatif)", places=6,
                            validators=[Optional(), NumberRange(-180, 180, "Longitude entre -180 et 180.")])
    notes = TextAreaField("Remarques (facultatif)", filters=[_strip],
                          validators=[Optional(), Length(max=2000, message="2 000 caractères au plus.")])

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if not (self.home_lat.errors or self.home_lon.errors) and \
                (self.home_lat.data is None) != (self.home_lon.data is None):
            self.home_lon.errors = [*self.home_lon.errors, "Indiquez la latitude et la longitude, ou aucune des deux."]
            return False
        return ok


class BeneficiaryForm(PersonFields):
    phone = PhoneField("Téléphone (facultatif)", filters=[_strip], validators=[Optional()])
    needs_accompaniment = BooleanField("A besoin d'être accompagnée (aide à la marche, jusqu'à la porte…)")
    needs_wheelchair = BooleanField("Se déplace en fauteuil roulant (véhicule adapté)")
    needs_shopping_help = BooleanField("A besoin d'aide pour les courses")
    no_front_seat = BooleanField("Ne peut pas s'asseoir à l'avant")
    receives_social_benefits = BooleanField("Perçoit des minima sociaux (RSA, ASPA, AAH…)")
    consent_sms = BooleanField("La personne accepte d'être contactée par SMS")
    consent_sharing = BooleanField("La personne accepte que son dossier soit partagé avec les structures partenaires de sa commune")


class DriverForm(PersonFields):
    phone = PhoneField("Téléphone portable", filters=[_strip], mobile_only=True,
                       validators=[DataRequired("Indiquez le numéro de portable du bénévole.")])
    vehicle_seats = IntegerField("Places passagers dans le véhicule", default=3, validators=[
        InputRequired(REQUIRED), NumberRange(1, 8, "Entre 1 et 8 places.")])
    wheelchair_accessible = BooleanField("Véhicule adapté aux fauteuils roulants")
    can_accompany = BooleanField("Peut accompagner la personne (attendre, aider)", default=True)
    max_distance_km = IntegerField("Distance maximale depuis le domicile (km)", default=20, validators=[
        InputRequired(REQUIRED), NumberRange(1, 100, "Entre 1 et 100 km.")])
    max_rides_per_day = IntegerField("Trajets par jour au plus", default=2, validators=[
        InputRequired(REQUIRED), NumberRange(1, 6, "Entre 1 et 6 trajets.")])
    licence_valid_until = DateField("Permis de conduire attesté valide jusqu'au", validators=[Optional()])
    insurance_valid_until = DateField("Assurance attestée valide jusqu'au", validators=[Optional()])
    availability = MultiCheckboxField("Disponibilités habituelles", choices=as_choices([
        (f"{d}-{slot}", f"{WEEKDAYS_FR[d]} {label.lower()}") for d in range(7) for slot, label in SLOTS_FR.items()
    ]), validate_choice=True)
    active = BooleanField("Bénévole actif (décocher pour une pause)", default=True)
    publish_consent = BooleanField("Le bénévole accepte que ses trajets soient publiés en données ouvertes")

    def availability_cells(self) -> tuple[tuple[int, str], ...]:
        cells = []
        for value in self.availability.data or []:
            day, _, slot = value.partition("-")
            cells.append((int(day), slot))
        return tuple(cells)


class NeedForm(FrenchForm):
    pickup = SelectField("Départ", validators=[DataRequired("Choisissez le lieu de départ.")])
    dropoff = SelectField("Destination", validators=[DataRequired("Choisissez la destination.")])
    time_mode = RadioField("Horaire", choices=as_choices([
        ("arrive_by", "Arriver pour un rendez-vous à"), ("depart_after", "Partir à partir de")]),
        default="arrive_by", validators=[InputRequired("Choisissez le type d'horaire.")])
    day = DateField("Date", validators=[InputRequired("Indiquez la date (jj/mm/aaaa).")])
    at = TimeField("Heure", validators=[InputRequired("Indiquez l'heure (hh:mm).")])
    return_choice = SelectField("Retour", choices=as_choices([
        ("none", "Pas de retour"), ("60", "Retour 1 h après"), ("120", "Retour 2 h après"),
        ("180", "Retour 3 h après"), ("at_time", "Retour à une heure précise")]), default="none")
    return_time = TimeField("Heure du retour (si « heure précise »)", validators=[Optional()])
    purpose = SelectField("Motif", choices=as_choices(list(PURPOSE_FR.items())),
                          validators=[DataRequired("Choisissez le motif.")])
    passengers = IntegerField("Nombre de passagers", default=1, validators=[
        InputRequired(REQUIRED), NumberRange(1, 4, "Entre 1 et 4 passagers.")])
    needs_accompaniment = BooleanField("Besoin d'accompagnement")
    needs_wheelchair = BooleanField("Fauteuil roulant (véhicule adapté)")
    no_front_seat = BooleanField("Pas de place à l'avant")
    notes = TextAreaField("Remarques pour le conducteur (facultatif)", filters=[_strip],
                          validators=[Optional(), Length(max=1000, message="1 000 caractères au plus.")])

    def validate_dropoff(self, field: Any) -> None:
        if field.data and field.data == self.pickup.data:
            raise ValidationError("La destination doit être différente du départ.")

    def validate_day(self, field: Any) -> None:
        if field.data and field.data < date.today():
            raise ValidationError("La date est passée : choisissez aujourd'hui ou un jour à venir.")

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        field = self.return_time
        if self.return_choice.data == "at_time" and not field.errors:
            problem = None
            if field.data is None:
                problem = "Indiquez l'heure du retour."
            elif self.at.data is not None and field.data <= self.at.data:
                problem = "Le retour doit être après l'heure de l'aller."
            if problem:
                field.errors = [*field.errors, problem]
                return False
        return ok


class NeedEditForm(NeedForm):
    """The need form when changing a posted need: carries the version the aidant started from."""

    version = HiddenField(validators=[DataRequired("Rechargez la page : version manquante.")])


def _parse_exception_dates(text: str | None) -> list[date]:
    """'24/12/2026, 31/12/2026' (or ISO dates) -> dates; ValueError with the bad piece."""
    days = []
    for piece in (text or "").replace(";", ",").replace("\n", ",").split(","):
        piece = piece.strip()
        if not piece:
            continue
        for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y"):
            try:
                days.append(datetime.strptime(piece, pattern).date())
                break
            except ValueError:
                continue
        else:
            raise ValueError(piece)
    return sorted(set(days))


class SeriesForm(NeedForm):
    """A recurring need: the trip of one occurrence, and when it repeats."""

    day = DateField("Premier jour de la série", validators=[InputRequired("Indiquez le premier jour (jj/mm/aaaa).")])
    weekdays = MultiCheckboxField("Jours de la semaine", choices=as_choices(
        [(str(d), WEEKDAYS_FR[d]) for d in range(7)]))
    interval_weeks = SelectField("Fréquence", choices=as_choices([
        ("1", "Chaque semaine"), ("2", "Une semaine sur deux"), ("3", "Toutes les 3 semaines"),
        ("4", "Toutes les 4 semaines")]), default="1")
    until = DateField("Jusqu'au (inclus)", validators=[InputRequired("Indiquez le dernier jour de la série (jj/mm/aaaa).")])
    exceptions = TextAreaField("Sauf les jours suivants (facultatif)", filters=[_strip], validators=[
        Optional(), Length(max=2000, message="2 000 caractères au plus.")])

    def validate_weekdays(self, field: Any) -> None:
        if not field.data:
            raise ValidationError("Cochez au moins un jour de la semaine.")

    def validate_until(self, field: Any) -> None:
        if field.data and self.day.data and field.data < self.day.data:
            raise ValidationError("Le dernier jour doit être après le premier.")

    def validate_exceptions(self, field: Any) -> None:
        try:
            _parse_exception_dates(field.data)
        except ValueError as exc:
            raise ValidationError(f"Date non reconnue : « {exc} ». Écrivez jj/mm/aaaa, séparées par des virgules.") from exc

    def exception_dates(self) -> list[date]:
        return _parse_exception_dates(self.exceptions.data)

    def weekday_numbers(self) -> list[int]:
        return sorted({int(d) for d in self.weekdays.data or []})


class SeriesEditForm(SeriesForm):
    """Changing a series: its first day may be past (the change applies to the coming trips)."""

    def validate_day(self, field: Any) -> None:
        return None


class CallNoteForm(FrenchForm):
    party = RadioField("Avec qui avez-vous parlé ?", choices=as_choices(list(PARTY_FR.items())),
                       validators=[InputRequired("Choisissez avec qui vous avez parlé.")])
    body = TextAreaField("Ce qui a été dit", filters=[_strip], validators=[
        DataRequired("Écrivez ce qui a été dit pendant l'appel."),
        Length(max=2000, message="2 000 caractères au plus.")])


class OfferForm(FrenchForm):
    kind = RadioField("Type de trajet", choices=as_choices([("one_off", "Trajet ponctuel"), ("regular", "Trajet régulier")]),
                      default="one_off", validators=[InputRequired("Choisissez le type de trajet.")])
    origin = SelectField("Départ", validators=[DataRequired("Choisissez le départ.")])
    destination = SelectField("Arrivée", validators=[DataRequired("Choisissez l'arrivée.")])
    day = DateField("Date (trajet ponctuel)", validators=[Optional()])
    at = TimeField("Heure de départ", validators=[InputRequired("Indiquez l'heure de départ (hh:mm).")])
    weekdays = MultiCheckboxField("Jours (trajet régulier)", choices=as_choices([(str(d), WEEKDAYS_FR[d]) for d in range(7)]))
    seats = IntegerField("Places offertes", default=1, validators=[InputRequired(REQUIRED), NumberRange(1, 8, "Entre 1 et 8.")])
    max_detour_min = IntegerField("Détour accepté (minutes)", default=15, validators=[
        InputRequired(REQUIRED), NumberRange(0, 60, "Entre 0 et 60 minutes.")])

    def validate_destination(self, field: Any) -> None:
        if field.data and field.data == self.origin.data:
            raise ValidationError("L'arrivée doit être différente du départ.")

    def validate_day(self, field: Any) -> None:
        if self.kind.data == "one_off":
            if field.data is None:
                raise ValidationError("Indiquez la date du trajet.")
            if field.data < date.today():
                raise ValidationError("La date est passée.")

    def validate_weekdays(self, field: Any) -> None:
        if self.kind.data == "regular" and not field.data:
            raise ValidationError("Cochez au moins un jour.")


class VersionedActionForm(FrenchForm):
    """A button acting on a need: carries the version the aidant saw."""

    version = HiddenField(validators=[DataRequired()])


class ProposeForm(VersionedActionForm):
    driver_id = HiddenField(validators=[DataRequired()])


class AnswerForm(FrenchForm):
    answer = RadioField("Réponse du bénévole", choices=as_choices([("accept", "Il ou elle accepte"), ("decline", "Il ou elle refuse")]),
                        validators=[InputRequired("Choisissez la réponse.")])


class UnservedForm(VersionedActionForm):
    reason = StringField("Pourquoi aucune solution ?", filters=[_strip], validators=[
        DataRequired("Indiquez la raison."), Length(max=300, message="300 caractères au plus.")])


class CancelForm(VersionedActionForm):
    reason = StringField("Motif de l'annulation (facultatif)", filters=[_strip],
                         validators=[Optional(), Length(max=300, message="300 caractères au plus.")])


class ConfirmForm(FrenchForm):
    """A bare POST with its CSRF token (erase, export…)."""


class UserForm(FrenchForm):
    name = StringField("Nom et prénom", filters=[_strip], validators=[DataRequired("Indiquez le nom."), Length(max=200)])
    email = EmailField("Adresse électronique", filters=[_strip], validators=[
        DataRequired("Indiquez l'adresse électronique."), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Adresse électronique invalide.")])
    role = SelectField("Rôle", choices=as_choices([("aidant", "Aidant"), ("coordinator", "Coordinateur"), ("admin", "Administrateur")]))
    structure = SelectField("Structure", validators=[Optional()])
    password = PasswordField("Mot de passe provisoire (12 caractères au moins, à changer à la première connexion)", validators=[
        DataRequired("Indiquez un mot de passe."), Length(min=12, message="12 caractères au moins.")])


class StructureForm(FrenchForm):
    name = StringField("Nom de la structure", filters=[_strip], validators=[DataRequired("Indiquez le nom."), Length(max=200)])
    kind = SelectField("Type", choices=as_choices([
        ("france_services", "France Services"), ("msap", "MSAP"), ("association", "Association"),
        ("ccas", "CCAS"), ("mairie", "Mairie"), ("udaf", "UDAF"), ("other", "Autre")]))
    communes = MultiCheckboxField("Communes couvertes")

    def validate_communes(self, field: Any) -> None:
        if not field.data:
            raise ValidationError("Cochez au moins une commune.")


def combine_local(day: date, at: time, tz_name: str) -> datetime:
    """A local date and time as an aware datetime in the given zone."""
    from zoneinfo import ZoneInfo

    return datetime.combine(day, at, ZoneInfo(tz_name))


class PlanForm(FrenchForm):
    """Start the day's plan, or propose routes of the stored plan (``run_id``)."""

    jour = HiddenField(validators=[DataRequired()])
    run_id = HiddenField()

package web_test

// The authorization contract as data, run through the portal (TestAuthorizationMatrix, in
// portal_sharing_test.go) and through the JSON API (TestAPI_AuthorizationMatrix, in api_test.go):
// one table of who may do what to a secret, which each surface spells with its own statuses.

// authOutcome is what a principal gets for an action on a secret.
type authOutcome int

const (
	allowed   authOutcome = iota // 200 (and, for the list, the secret is in it)
	forbidden                    // 403: a Reader trying an Owner's action
	hidden                       // 404, and not in the list: no access, or another organization
	signIn                       // not signed in, or no valid API key
)

// The principals of the matrix. Every secret of a cell is created by one Owner and shared with a
// second Owner directly, a team of Owners, a Reader directly and a team of Readers.
const (
	pOwner      = "Owner directly"
	pTeamOwner  = "Owner through a team"
	pReader     = "Reader directly"
	pTeamReader = "Reader through a team"
	// The nested principals are members of a team inside the granted team (Owners › Platform).
	pNestedOwner  = "Owner through a nested team"
	pNestedReader = "Reader through a nested team"
	// pTeamManager is an Owner of the team of Owners (one who manages it) without being in it: managing
	// a team gives no access to what the team holds.
	pTeamManager = "Owner of the Owners team, not in it"
	pMember      = "member without a grant"
	pAdmin       = "admin without a grant"
	pOtherOrg    = "user of another organization"
	pAnonymous   = "anonymous"
)

// matrixPrincipals lists the principals in the order the tests run them.
var matrixPrincipals = []string{pOwner, pTeamOwner, pNestedOwner, pReader, pTeamReader, pNestedReader, pTeamManager, pMember, pAdmin, pOtherOrg, pAnonymous}

// The actions of the matrix; each surface maps its requests onto them.
const (
	actList         = "list"
	actReveal       = "reveal"
	actEdit         = "edit"
	actDelete       = "delete"
	actReadAccess   = "read access"
	actChangeAccess = "change access"
)

// matrixWant is the contract: what principal gets for action.
func matrixWant(principal, action string) authOutcome {
	switch principal {
	case pOwner, pTeamOwner, pNestedOwner:
		return allowed
	case pReader, pTeamReader, pNestedReader:
		if action == actEdit || action == actDelete || action == actChangeAccess {
			return forbidden
		}
		return allowed
	case pAnonymous:
		return signIn
	}
	return hidden
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/**
 * Renewable-energy certificates as ERC-1155 tokens, in the spirit of ERC-1888 (Energy Web's
 * Registry/Issuer): one token id per certificate, the amount is the certified energy in Wh, the
 * certificate's data is the keccak256 of its canonical JSON document, and a certificate is retired by
 * claiming it for a beneficiary (the claimed amount is burnt from the owner and counted apart).
 *
 * What this contract guarantees on chain, whatever the off-chain service does:
 *  - only the issuer may issue or write reservation log entries;
 *  - an issuance key (the hash of the service's request id) mints at most once, ever;
 *  - claimed balances only grow, and only the owner (or its approved operator) may claim.
 */
contract CertificateRegistry is ERC1155 {
    /// ERC-1888's claim topic for energy certificates (Energy Web's origin uses 1 for REC).
    int256 public constant TOPIC = 1;

    struct Certificate {
        int256 topic;
        address issuer;
        bytes32 issuanceKey;
        bytes32 documentHash;
        uint256 value;
        uint64 issuedAt;
    }

    /// The service's signing key: the only address that may issue.
    address public issuer;
    /// The last token id issued (ids start at 1; 0 means "none").
    uint256 public lastTokenId;

    mapping(uint256 id => Certificate) private certificates;
    mapping(bytes32 issuanceKey => uint256 id) public tokenIdByIssuanceKey;
    mapping(address owner => mapping(uint256 id => uint256)) private claimed;

    // ERC-1888 events.
    event IssuanceSingle(address indexed _issuer, int256 indexed _topic, uint256 _id, uint256 _value);
    event IssuanceBatch(address indexed _issuer, int256 indexed _topic, uint256[] _ids, uint256[] _values);
    event ClaimSingle(
        address indexed _claimIssuer,
        address indexed _claimSubject,
        int256 indexed _topic,
        uint256 _id,
        uint256 _value,
        bytes _claimData
    );

    /// One per certificate, single or batch: the link between the service's request and the token.
    event CertificateIssued(
        uint256 indexed id,
        bytes32 indexed issuanceKey,
        address indexed to,
        uint256 value,
        bytes32 documentHash
    );
    /// A reservation seen by the service: who reserved which devices (hash of the sorted ids) when.
    event ReservationLogged(
        bytes32 indexed reservationKey,
        address indexed buyer,
        string reservationId,
        bytes32 devicesHash,
        uint64 start,
        uint64 end,
        uint8 status
    );
    event IssuerChanged(address indexed previous, address indexed next);

    error NotIssuer(address caller);
    error AlreadyIssued(bytes32 issuanceKey, uint256 id);
    error ZeroIssuanceKey();
    error ZeroValue();
    error LengthMismatch();
    error UnknownCertificate(uint256 id);
    error NotOwnerNorApproved(address caller, address owner);

    modifier onlyIssuer() {
        if (msg.sender != issuer) revert NotIssuer(msg.sender);
        _;
    }

    constructor(address issuer_, string memory uri_) ERC1155(uri_) {
        issuer = issuer_;
        emit IssuerChanged(address(0), issuer_);
    }

    /// Hands issuing over to another key (key rotation); only the current issuer may.
    function setIssuer(address next) external onlyIssuer {
        emit IssuerChanged(issuer, next);
        issuer = next;
    }

    /// Mints one certificate of `value` Wh to `to`; the document hash travels as the ERC-1155 data.
    function issue(address to, uint256 value, bytes32 issuanceKey, bytes32 documentHash)
        external
        onlyIssuer
        returns (uint256 id)
    {
        id = _record(to, value, issuanceKey, documentHash);
        emit IssuanceSingle(msg.sender, TOPIC, id, value);
        _mint(to, id, value, abi.encodePacked(documentHash));
    }

    /// Mints several certificates (each to its own owner) in one transaction; all or none.
    function batchIssue(
        address[] calldata to,
        uint256[] calldata values,
        bytes32[] calldata issuanceKeys,
        bytes32[] calldata documentHashes
    ) external onlyIssuer returns (uint256[] memory ids) {
        uint256 n = to.length;
        if (values.length != n || issuanceKeys.length != n || documentHashes.length != n) revert LengthMismatch();
        ids = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            ids[i] = _record(to[i], values[i], issuanceKeys[i], documentHashes[i]);
        }
        emit IssuanceBatch(msg.sender, TOPIC, ids, values);
        for (uint256 i = 0; i < n; i++) {
            _mint(to[i], ids[i], values[i], abi.encodePacked(documentHashes[i]));
        }
    }

    /// Retires `value` Wh of certificate `id` held by `owner` for a beneficiary (named in claimData).
    function claimFor(address owner, uint256 id, uint256 value, bytes calldata claimData) public {
        if (owner != msg.sender && !isApprovedForAll(owner, msg.sender)) {
            revert NotOwnerNorApproved(msg.sender, owner);
        }
        if (certificates[id].issuer == address(0)) revert UnknownCertificate(id);
        if (value == 0) revert ZeroValue();
        _burn(owner, id, value); // reverts with ERC1155InsufficientBalance when owner holds less
        claimed[owner][id] += value;
        emit ClaimSingle(msg.sender, owner, TOPIC, id, value, claimData);
    }

    /// The owner retires its own certificate.
    function claim(uint256 id, uint256 value, bytes calldata claimData) external {
        claimFor(msg.sender, id, value, claimData);
    }

    function claimedBalanceOf(address owner, uint256 id) external view returns (uint256) {
        return claimed[owner][id];
    }

    /// ERC-1888's getter: issuer, topic, validity data (the issuance key) and data (the document hash).
    function getCertificate(uint256 id)
        external
        view
        returns (address _issuer, int256 _topic, bytes memory _validityData, bytes memory _data)
    {
        Certificate storage c = certificates[id];
        if (c.issuer == address(0)) revert UnknownCertificate(id);
        return (c.issuer, c.topic, abi.encodePacked(c.issuanceKey), abi.encodePacked(c.documentHash));
    }

    function certificate(uint256 id) external view returns (Certificate memory) {
        if (certificates[id].issuer == address(0)) revert UnknownCertificate(id);
        return certificates[id];
    }

    /// Writes a reservation log entry (status: 0 created, 1 updated, 2 ended).
    function logReservation(
        string calldata reservationId,
        address buyer,
        bytes32 devicesHash,
        uint64 start,
        uint64 end,
        uint8 status
    ) external onlyIssuer {
        emit ReservationLogged(keccak256(bytes(reservationId)), buyer, reservationId, devicesHash, start, end, status);
    }

    function _record(address to, uint256 value, bytes32 issuanceKey, bytes32 documentHash)
        private
        returns (uint256 id)
    {
        if (issuanceKey == bytes32(0)) revert ZeroIssuanceKey();
        if (value == 0) revert ZeroValue();
        uint256 existing = tokenIdByIssuanceKey[issuanceKey];
        if (existing != 0) revert AlreadyIssued(issuanceKey, existing);
        id = ++lastTokenId;
        tokenIdByIssuanceKey[issuanceKey] = id;
        certificates[id] = Certificate(TOPIC, msg.sender, issuanceKey, documentHash, value, uint64(block.timestamp));
        emit CertificateIssued(id, issuanceKey, to, value, documentHash);
    }
}
